# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class DuplicateCustomerError(ValidationError):
    pass


class OwnershipError(UserError):
    pass


class QuotaError(OwnershipError):
    pass


class KeyCustomerError(AccessError):
    pass


class WatchError(ValidationError):
    pass


class ShareError(ValidationError):
    pass


class ApprovalError(UserError):
    pass


class OpportunityError(UserError):
    pass


class CampaignError(UserError):
    pass


class BudgetError(ValidationError):
    pass


class LeadError(UserError):
    pass


class TargetError(UserError):
    pass


class TargetValidationError(ValidationError):
    pass


class CustomerImportError(UserError):
    pass


class LinkAccessError(AccessError):
    pass


class ButtonRefusedError(AccessError):
    pass
