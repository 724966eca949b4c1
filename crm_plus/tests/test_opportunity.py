# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

import datetime as dt
from decimal import Decimal
from unittest.mock import patch

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import (
    CrmTestCase, acting_as, create_customer, create_foreign_currency,
    create_opportunity, create_world, move_in_progress)


def today():
    return Pool().get('ir.date').today()


class OpportunityTestCase(CrmTestCase):
    "Test opportunities"

    @with_transaction()
    def test_new_opportunity_starts_at_first_stage(self):
        "A new opportunity takes the first stage and its probability"
        pool = Pool()
        Stage = pool.get('crm.opportunity.stage')
        world = create_world()
        opportunity = create_opportunity(world)

        first, = Stage.search([], limit=1)
        self.assertEqual(opportunity.stage, first)
        self.assertEqual(opportunity.probability, first.probability)
        self.assertEqual(opportunity.employee, world.employees['sales1'])
        self.assertEqual(
            [(p.stage, p.probability) for p in opportunity.progress],
            [(first, first.probability)])

    @with_transaction()
    def test_stage_move_records_progress(self):
        "Moving the stage takes its probability and writes a progress entry"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Stage = pool.get('crm.opportunity.stage')
        world = create_world()
        opportunity = create_opportunity(world)
        _, needs, proposal = Stage.search([], limit=3)

        with acting_as(world.users['sales1']):
            Opportunity.write([opportunity], {'stage': needs.id})
            Opportunity.write([opportunity], {
                    'stage': proposal.id, 'probability': 45})
            Opportunity.write([opportunity], {'name': "ERP rollout"})

        opportunity = Opportunity(opportunity.id)
        self.assertEqual(opportunity.probability, 45)
        self.assertEqual(
            [(p.stage, p.probability) for p in opportunity.progress][:2],
            [(proposal, 45), (needs, needs.probability)])
        self.assertEqual(len(opportunity.progress), 3)
        self.assertEqual(
            opportunity.progress[0].employee, world.employees['sales1'])

    @with_transaction()
    def test_new_opportunity_dates_customer(self):
        "The customer's last opportunity date follows its opportunities"
        Party = Pool().get('party.party')
        world = create_world()
        start = today() - dt.timedelta(days=3)
        opportunity = create_opportunity(world, start_date=start)

        self.assertEqual(
            Party(opportunity.party.id).last_opportunity_date, start)

    @with_transaction()
    def test_moved_or_deleted_opportunity_dates_customer(self):
        "Moving or deleting an opportunity dates both customers again"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Party = pool.get('party.party')
        world = create_world()
        start = today() - dt.timedelta(days=3)
        opportunity = create_opportunity(world, start_date=start)
        first = opportunity.party
        second = create_customer(
            "Second customer", owner=world.employees['sales1'])

        with acting_as(world.users['sales1']):
            Opportunity.write([opportunity], {'start_date': today()})
            self.assertEqual(Party(first.id).last_opportunity_date, today())
            Opportunity.write([opportunity], {'party': second.id})
            self.assertIsNone(Party(first.id).last_opportunity_date)
            self.assertEqual(Party(second.id).last_opportunity_date, today())
            Opportunity.delete([Opportunity(opportunity.id)])
        self.assertIsNone(Party(second.id).last_opportunity_date)

    @with_transaction()
    def test_filing_approved_by_supervisor(self):
        "Filing an opportunity waits for the owner's supervisor"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Request = pool.get('crm.approval.request')
        world = create_world()
        opportunity = create_opportunity(world)

        with acting_as(world.users['sales1']):
            Opportunity.submit([opportunity])
        opportunity = Opportunity(opportunity.id)
        self.assertEqual(opportunity.state, 'waiting')
        with acting_as(world.users['sales2']):
            with self.assertRaisesRegex(UserError, 'Manager'):
                Request.approve([Request(opportunity.approval.id)])
        with acting_as(world.users['manager']):
            Request.approve([Request(opportunity.approval.id)], "Go")

        opportunity = Opportunity(opportunity.id)
        self.assertEqual(opportunity.state, 'in_progress')
        self.assertEqual(opportunity.progress[0].state, 'in_progress')

    @with_transaction()
    def test_filing_rejected_back_to_draft(self):
        "A rejected filing returns the opportunity to draft"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Request = pool.get('crm.approval.request')
        world = create_world()
        opportunity = create_opportunity(world)
        with acting_as(world.users['sales1']):
            Opportunity.submit([opportunity])

        with acting_as(world.users['manager']):
            Request.reject(
                [Request(Opportunity(opportunity.id).approval.id)],
                "Duplicate of another filing")

        self.assertEqual(Opportunity(opportunity.id).state, 'draft')

    @with_transaction()
    def test_state_only_from_buttons(self):
        "Writing the state of an opportunity directly is refused"
        Opportunity = Pool().get('crm.opportunity')
        world = create_world()
        opportunity = move_in_progress(create_opportunity(world))

        with acting_as(world.users['sales1']):
            for state in ['won', 'lost', 'suspended', 'draft']:
                with self.subTest(state=state), \
                        self.assertRaisesRegex(UserError, 'state'):
                    Opportunity.write([opportunity], {'state': state})
            with self.assertRaisesRegex(UserError, 'initial state'):
                Opportunity.create([{
                            'name': "Won already",
                            'party': opportunity.party.id,
                            'state': 'won'}])

        self.assertEqual(Opportunity(opportunity.id).state, 'in_progress')

    @with_transaction()
    def test_suspend_needs_future_reactivation(self):
        "An opportunity cannot be suspended until a past date"
        Opportunity = Pool().get('crm.opportunity')
        world = create_world()
        opportunity = move_in_progress(create_opportunity(world))

        with self.assertRaisesRegex(UserError, 'future'):
            Opportunity.set_suspended([opportunity], "Budget frozen", today())

    @with_transaction()
    def test_cron_reactivates_suspended_once(self):
        "The reactivation job reopens due opportunities and tells the owner"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Notification = pool.get('res.notification')
        world = create_world()
        due = move_in_progress(create_opportunity(world))
        later = move_in_progress(create_opportunity(
                world, party=due.party))
        tomorrow = today() + dt.timedelta(days=1)
        Opportunity.set_suspended([due, later], "Budget frozen", tomorrow)
        # time passes for the first one
        table = Opportunity.__table__()
        Transaction().connection.cursor().execute(*table.update(
                [table.reactivation_date], [today()],
                where=table.id == due.id))

        Opportunity.reactivate_suspended()
        Opportunity.reactivate_suspended()

        due, later = Opportunity.browse([due.id, later.id])
        self.assertEqual(due.state, 'in_progress')
        self.assertIsNone(due.reactivation_date)
        self.assertEqual(
            [p.state for p in due.progress][:2], ['in_progress', 'suspended'])
        self.assertEqual(later.state, 'suspended')
        notifications = Notification.search([
                ('user', '=', world.users['sales1'].id),
                ('model', '=', 'crm.opportunity'),
                ])
        self.assertEqual(len(notifications), 1)
        self.assertEqual(notifications[0].records, str([due.id]))

    @with_transaction()
    def test_won_is_final(self):
        "Winning makes the customer a deal and the opportunity read-only"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Party = pool.get('party.party')
        world = create_world()
        opportunity = move_in_progress(create_opportunity(world))

        with acting_as(world.users['sales1']):
            Opportunity.win([opportunity])
            opportunity = Opportunity(opportunity.id)
            with self.assertRaisesRegex(UserError, 'closed'):
                Opportunity.write([opportunity], {'name': "Phase 2"})
            with self.assertRaisesRegex(UserError, 'closed'):
                Opportunity.delete([opportunity])
            with self.assertRaises(UserError):
                Opportunity.lose([opportunity])

        opportunity = Opportunity(opportunity.id)
        self.assertEqual(opportunity.state, 'won')
        self.assertEqual(opportunity.probability, 100)
        self.assertEqual(opportunity.close_date, today())
        party = Party(opportunity.party.id)
        self.assertEqual(party.customer_status, 'deal')
        self.assertEqual(party.last_deal_date, today())

    @with_transaction()
    def test_lose_with_reason(self):
        "A lost opportunity keeps its reason and has no chance left"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        LostReason = pool.get('crm.opportunity.lost_reason')
        world = create_world()
        opportunity = move_in_progress(create_opportunity(world))
        reason, = LostReason.search([('code', '=', 'PRICE')])

        Opportunity.set_lost([opportunity], reason, "Too expensive")

        opportunity = Opportunity(opportunity.id)
        self.assertEqual(opportunity.state, 'lost')
        self.assertEqual(opportunity.lost_reason, reason)
        self.assertEqual(opportunity.probability, 0)

    @with_transaction()
    def test_signing_reminder(self):
        "Owners are told about the opportunities to sign in a few days"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Notification = pool.get('res.notification')
        world = create_world()
        soon = today() + dt.timedelta(days=3)
        reminded = move_in_progress(
            create_opportunity(world, expected_date=soon))
        move_in_progress(create_opportunity(
                world, 'sales2', expected_date=soon + dt.timedelta(days=1)))
        create_opportunity(world, 'sales2', expected_date=soon)

        Opportunity.remind_signing()

        def notified():
            return [(n.user, n.records) for n in Notification.search([
                        ('model', '=', 'crm.opportunity')],
                    order=[('id', 'ASC')])]
        self.assertEqual(notified(),
            [(world.users['sales1'], str([reminded.id]))])

        # once per date, even when the job runs again; a date moved into
        # the window, or one whose day was missed, is reminded
        Opportunity.remind_signing()
        moved = move_in_progress(create_opportunity(
                world, 'sales2', expected_date=soon + dt.timedelta(days=9)))
        missed = move_in_progress(create_opportunity(
                world, 'sales2', expected_date=today()))
        Opportunity.write([moved], {'expected_date': soon})
        Opportunity.remind_signing()
        self.assertEqual(notified(), [
                (world.users['sales1'], str([reminded.id])),
                (world.users['sales2'], str([moved.id, missed.id])),
                ])

    @with_transaction()
    def test_amount_decided_by_approval(self):
        """The amount of an opportunity, its currency and the lines that
        make it change in draft only: its approval decided on them"""
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Line = pool.get('crm.opportunity.line')
        world = create_world()
        foreign = create_foreign_currency(world)
        draft = create_opportunity(world, amount=Decimal(100))
        approved = move_in_progress(create_opportunity(
                world, amount=Decimal(100),
                lines=[Line(quantity=1, unit_price=Decimal(100))]))
        line, = approved.lines

        with acting_as(world.users['sales1']):
            for values in [
                    {'amount': Decimal(100000)},
                    {'currency': foreign.id},
                    {'lines': [('create', [{'quantity': 1}])]},
                    ]:
                with self.subTest(values=values), \
                        self.assertRaisesRegex(UserError, 'cannot change'):
                    Opportunity.write([Opportunity(approved.id)], values)
            for call in [
                    lambda: Line.create([
                            {'opportunity': approved.id, 'quantity': 1}]),
                    lambda: Line.write([Line(line.id)], {'quantity': 9}),
                    lambda: Line.write([Line(line.id)], {
                            'opportunity': approved.id, 'quantity': 9}),
                    lambda: Line.delete([Line(line.id)]),
                    ]:
                with self.subTest(call=call), \
                        self.assertRaisesRegex(UserError, 'cannot change'):
                    call()
            # other fields follow the deal
            Opportunity.write([Opportunity(approved.id)], {
                    'expected_date': today(), 'probability': 40})

            Opportunity.write([Opportunity(draft.id)], {
                    'amount': Decimal(200),
                    'lines': [('create', [{'quantity': 2}])],
                    })
        self.assertEqual(Opportunity(approved.id).amount, 100)
        self.assertEqual(Line(line.id).quantity, 1)
        self.assertEqual(Opportunity(draft.id).amount, 200)

    @with_transaction()
    def test_lines_propose_amount(self):
        "The product lines propose the expected amount"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Line = pool.get('crm.opportunity.line')
        opportunity = Opportunity(lines=[
                Line(quantity=2, unit_price=Decimal('150.50')),
                Line(quantity=1.5, unit_price=Decimal('10')),
                ])
        for line in opportunity.lines:
            line.amount = line.on_change_with_amount()

        opportunity.on_change_lines()

        self.assertEqual(opportunity.amount, Decimal('316.00'))

    @with_transaction()
    def test_competitor_result_follows_opportunity(self):
        "A competitor is beaten when we win and the winner when we lose"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Competitor = pool.get('crm.opportunity.competitor')
        ModelData = pool.get('ir.model.data')
        world = create_world()
        opportunity = move_in_progress(create_opportunity(world))
        rival = create_customer("Rival", customer_type=ModelData.get_id(
                'crm_plus', 'customer_type_competitor'))
        competitor = Competitor(opportunity=opportunity, competitor=rival)
        competitor.save()
        self.assertEqual(Competitor(competitor.id).result, 'open')

        Opportunity.win([opportunity])

        self.assertEqual(Competitor(competitor.id).result, 'beaten')
        # the analysis and the lines of a won opportunity are final too
        Line = pool.get('crm.opportunity.line')
        with self.assertRaisesRegex(UserError, 'closed'):
            Competitor.write([competitor], {'price': Decimal(10)})
        with self.assertRaisesRegex(UserError, 'closed'):
            Competitor.delete([competitor])
        with self.assertRaisesRegex(UserError, 'closed'):
            Line.create([{'opportunity': opportunity.id, 'quantity': 1}])

    @with_transaction()
    def test_vendor_registration(self):
        "Registering with the vendor emails it and flags the opportunity"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Party = pool.get('party.party')
        Email = pool.get('ir.email')
        world = create_world()
        vendor = Party(name="Upstream Ltd")
        vendor.save()
        opportunity = create_opportunity(world, vendor=vendor)

        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(UserError, 'Upstream Ltd'):
                Opportunity.register_vendor([opportunity])
        Party.write([vendor], {
                'contact_mechanisms': [('create', [{
                                'type': 'email',
                                'value': 'sales@upstream.example'}])]})
        with acting_as(world.users['sales1']), patch(
                'trytond.ir.email_.send_message_transactional') as send:
            Opportunity.register_vendor([opportunity])

        opportunity = Opportunity(opportunity.id)
        self.assertTrue(opportunity.vendor_registered)
        email, = Email.search([
                ('resource', '=', str(opportunity))])
        self.assertIn('sales@upstream.example', email.recipients)
        self.assertIn('ERP project', email.subject)
        message, = send.call_args.args
        self.assertEqual(message['To'], 'sales@upstream.example')

    @with_transaction()
    def test_follow_up_creates_one_opportunity(self):
        "A follow-up turns into an opportunity once"
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        world = create_world()
        party = create_customer("ACME", owner=world.employees['sales1'])
        with acting_as(world.users['sales1']):
            follow_up = FollowUp(
                party=party, date=today(), subject="Wants a quote")
            follow_up.save()
            FollowUp.create_opportunity([follow_up])
            follow_up = FollowUp(follow_up.id)
            with self.assertRaisesRegex(UserError, 'Wants a quote'):
                FollowUp.create_opportunity([follow_up])

        opportunity = follow_up.opportunity
        self.assertEqual(opportunity.party, party)
        self.assertEqual(opportunity.name, "Wants a quote")
        self.assertEqual(opportunity.employee, world.employees['sales1'])
        self.assertEqual(opportunity.follow_ups, (follow_up,))

    @with_transaction()
    def test_opportunities_follow_customer_rules(self):
        "A salesperson sees no opportunity of a colleague's customer"
        Opportunity = Pool().get('crm.opportunity')
        world = create_world()
        mine = create_opportunity(world)
        theirs = create_opportunity(world, 'sales2')

        with acting_as(world.users['sales1']):
            self.assertEqual(Opportunity.search([]), [mine])
        with acting_as(world.users['manager']):
            self.assertEqual(
                set(Opportunity.search([])), {mine, theirs})

    @with_transaction()
    def test_open_opportunity_exempts_release(self):
        "A pool can keep customers with an open opportunity out of release"
        pool = Pool()
        Party = pool.get('party.party')
        world = create_world()
        kept = create_customer(
            "Kept", pool=world.east, owner=world.employees['sales1'])
        released = create_customer(
            "Released", pool=world.east, owner=world.employees['sales1'])
        create_opportunity(world, party=kept)
        world.east.exempt_open_opportunity = True
        world.east.save()
        table = Party.__table__()
        Transaction().connection.cursor().execute(*table.update(
                [table.owner_since], [today() - dt.timedelta(days=90)],
                where=table.id.in_([kept.id, released.id])))

        Party.release_customers()

        self.assertEqual(Party(kept.id).owner, world.employees['sales1'])
        self.assertIsNone(Party(released.id).owner)

