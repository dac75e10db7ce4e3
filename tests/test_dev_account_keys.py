"""Dev accounts: the keys a seed gives are the same on every run and differ for another seed."""

from __future__ import annotations

from solders.keypair import Keypair

from tidepool.server.devaccounts import dev_accounts


def test_the_same_seed_gives_the_same_dev_accounts() -> None:
    first = [(a.public_key, a.secret_key) for a in dev_accounts(0, 10)]
    again = [(a.public_key, a.secret_key) for a in dev_accounts(0, 10)]
    assert first == again
    assert len(set(first)) == 10


def test_another_seed_gives_other_dev_accounts() -> None:
    zero = {a.public_key for a in dev_accounts(0, 10)}
    one = {a.public_key for a in dev_accounts(1, 10)}
    assert zero.isdisjoint(one)


def test_more_accounts_keep_the_first_ones() -> None:
    """`--accounts 20` adds keys after the 10 a test config may already name."""
    ten = [a.public_key for a in dev_accounts(5, 10)]
    assert [a.public_key for a in dev_accounts(5, 20)][:10] == ten


def test_a_printed_secret_loads_back_into_its_keypair() -> None:
    for account in dev_accounts(0, 3):
        loaded = Keypair.from_base58_string(account.secret_key)
        assert str(loaded.pubkey()) == account.public_key
