# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .tools import (
    CrmTestCase, acting_as, approve, create_foreign_currency,
    create_opportunity, create_world, move_in_progress)


def today():
    return Pool().get('ir.date').today()


def create_campaign(world, start=None, end=None, **values):
    Campaign = Pool().get('crm.campaign')
    start = start or today()
    with acting_as(world.users['manager']):
        campaign = Campaign(
            name="Spring Fair", start_date=start, end_date=end or start,
            budget=Decimal(10000), **values)
        campaign.save()
    return Campaign(campaign.id)


def approved(campaign):
    campaign, = approve([campaign])
    return campaign


class CampaignTestCase(CrmTestCase):
    "Test marketing campaigns"

    @with_transaction()
    def test_lifecycle_ends_read_only(self):
        "A done campaign can no longer be changed nor deleted"
        Campaign = Pool().get('crm.campaign')
        world = create_world()
        campaign = approved(create_campaign(world))

        Campaign.start([campaign])
        Campaign.do([campaign])

        campaign = Campaign(campaign.id)
        self.assertEqual(campaign.state, 'done')
        with acting_as(world.users['manager']):
            with self.assertRaisesRegex(UserError, 'Spring Fair'):
                Campaign.write([campaign], {'budget': Decimal(1)})
            with self.assertRaisesRegex(UserError, 'Spring Fair'):
                Campaign.delete([campaign])
            with self.assertRaises(UserError):
                Campaign.cancel([campaign])

    @with_transaction()
    def test_results_from_opportunities(self):
        "The campaign counts its opportunities and sums the won ones"
        Opportunity = Pool().get('crm.opportunity')
        world = create_world()
        campaign = create_campaign(world)
        won = move_in_progress(create_opportunity(
                world, campaign=campaign, amount=Decimal('1200.50')))
        # won in a currency worth an eighth of the campaign's
        won_abroad = move_in_progress(create_opportunity(
                world, campaign=campaign, amount=Decimal(100),
                currency=create_foreign_currency(world)))
        create_opportunity(world, campaign=campaign, amount=Decimal(999))
        create_opportunity(world, amount=Decimal(5000))

        Opportunity.win([won, won_abroad])

        campaign = Pool().get('crm.campaign')(campaign.id)
        self.assertEqual(campaign.opportunity_count, 3)
        self.assertEqual(campaign.won_count, 2)
        self.assertEqual(campaign.won_amount, Decimal('1213.00'))
        self.assertEqual(create_campaign(world).won_amount, Decimal(0))

    @with_transaction()
    def test_won_amount_rounded_as_campaign_currency(self):
        "A campaign sums amounts converted and rounded as its currency"
        Opportunity = Pool().get('crm.opportunity')
        world = create_world()
        # 100.07 at eight to one is 800.56
        campaigns = {digits: create_campaign(world,
                currency=create_foreign_currency(
                    world, code=f'D{digits}', digits=digits))
            for digits in [0, 2]}
        Opportunity.win([move_in_progress(create_opportunity(
                        world, campaign=c, amount=Decimal('100.07')))
                for c in campaigns.values()])

        won_amounts = {digits: Pool().get('crm.campaign')(c.id).won_amount
            for digits, c in campaigns.items()}
        self.assertEqual(won_amounts, {0: Decimal(801), 2: Decimal('800.56')})

    @with_transaction()
    def test_won_amount_summed_exactly(self):
        "The won amounts add up to the cent"
        Opportunity = Pool().get('crm.opportunity')
        world = create_world()
        campaign = create_campaign(world)
        Opportunity.win([move_in_progress(create_opportunity(
                        world, campaign=campaign, amount=Decimal(amount)))
                for amount in ['0.10', '0.20']])

        campaign = Pool().get('crm.campaign')(campaign.id)
        self.assertEqual(str(campaign.won_amount), '0.30')

    @with_transaction()
    def test_participants_reminded_at_start_and_end(self):
        "The responsible and participants hear when a campaign starts or ends"
        pool = Pool()
        Campaign = pool.get('crm.campaign')
        Notification = pool.get('res.notification')
        world = create_world()
        starting = approved(create_campaign(
                world, end=today() + dt.timedelta(days=2),
                participants=[world.employees['sales1']]))
        ending = approved(create_campaign(
                world, start=today() - dt.timedelta(days=2), end=today(),
                employee=world.employees['sales2']))
        Campaign.start([ending])
        approved(create_campaign(world, start=today() + dt.timedelta(days=1)))

        Campaign.remind_participants()

        self.assertEqual(
            sorted((n.user.login, n.records) for n in Notification.search([
                        ('model', '=', 'crm.campaign')])),
            [('manager', str([starting.id])),
                ('sales1', str([starting.id])),
                ('sales2', str([ending.id]))])
