"""Domain errors: a stable code for machines and a translated message for people."""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra

    def __str__(self):
        return str(self.message)
