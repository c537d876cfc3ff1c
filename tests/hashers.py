"""Password hashing for the test run: Argon2 with its cheapest parameters.

Production hashes with Django's Argon2 defaults (about 100 MB and 0.1-0.4 s a
password on this machine, on purpose). Tests create thousands of users, each
with a password: with these parameters a hash costs about a millisecond, and
it is still Argon2, so the tests of hashing and of upgrading older hashes
check the algorithm production uses."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64  # KiB
    parallelism = 1


def quick_hashers(hashers: list[str]) -> list[str]:
    """PASSWORD_HASHERS with this one first, in place of production's Argon2."""
    return ["tests.hashers.QuickArgon2PasswordHasher", *hashers[1:]]
