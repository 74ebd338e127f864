"""The scope digest devices and the store compare: order-independent, additive (so the
store can keep it per bucket as rows change), within 32 bits per pair."""

from app.models.sync import pair_hash, scope_digest


def test_the_digest_adds_up_pair_hashes():
    pairs = [("a", 1), ("b", 7)]
    assert scope_digest(pairs) == str(pair_hash("a", 1) + pair_hash("b", 7))
    assert scope_digest(list(reversed(pairs))) == scope_digest(pairs)
    assert scope_digest([]) == "0"


def test_a_changed_rev_changes_the_digest():
    assert scope_digest([("a", 1)]) != scope_digest([("a", 2)])


def test_a_pair_hash_is_a_signed_32_bit_integer_as_postgresql_reads_it():
    # ('x' || substr(md5('p1:3'), 1, 8))::bit(32)::int in PostgreSQL
    import hashlib

    head = hashlib.md5(b"p1:3").hexdigest()[:8]
    value = int(head, 16)
    assert pair_hash("p1", 3) == (value - 2**32 if value >= 2**31 else value)
    assert all(-(2**31) <= pair_hash(f"id{i}", i) < 2**31 for i in range(1000))
