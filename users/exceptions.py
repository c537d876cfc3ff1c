from kameng.exceptions import DomainError


class InsufficientBalance(DomainError):
    code = "wallet_insufficient_balance"


class InvalidAmount(DomainError):
    code = "wallet_invalid_amount"


class UnknownRole(DomainError):
    code = "users_unknown_role"


class UsernameTaken(DomainError):
    code = "users_username_taken"


class WalletRefused(DomainError):
    code = "wallet_refused"
