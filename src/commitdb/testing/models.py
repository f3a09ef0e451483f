"""Models the conformance suite works with, kept as text so the suite needs no data files."""

from __future__ import annotations

# SPEC §2.5, verbatim: the running example and its interoperability vectors.
TUTO_DSM = '''namespace Tuto {f529bc42-0618-4f54-a3fb-d55f95c5ad03} {
"""A user."""
concept User;
struct Login { string nickname; string password; };
struct Identity { string firstname; string lastname; };
struct Thumbnail { uint16 width; uint16 height; blob data; };
struct Texture { uint16 width; uint16 height; blob_id pixels; };
enum Status { pending, active, completed };
struct Account { Status state; };
attachment<User, Login> login;
attachment<User, Identity> identity;
attachment<User, Thumbnail> avatar;
attachment<User, Texture> portrait;
attachment<User, Account> account;
};
'''

TUTO_HEXDIGEST = "86f69c32f2fadeef01f08697426ff18baedfa910"
TUTO_TYPES = ["Tuto::User", "Tuto::Status", "Tuto::Login", "Tuto::Texture", "Tuto::Account",
              "Tuto::Identity", "Tuto::Thumbnail"]

# A second, unrelated namespace: extending a Tuto database with it is purely additive.
EXTRA_DSM = '''namespace Extra {3c1b0e52-9d4f-4a8e-8f0a-5b2d6c7e8f90} {
concept Item;
struct Note { string text; set<string> tags; };
attachment<Item, Note> note;
};
'''

# Same namespace (name and uuid) as Tuto, but Login lost a field: its runtime id differs, so a
# database holding Tuto must refuse it.
TUTO_CONFLICT_DSM = '''namespace Tuto {f529bc42-0618-4f54-a3fb-d55f95c5ad03} {
concept User;
struct Login { string nickname; };
attachment<User, Login> login;
};
'''

# FORMAT.md §7.3 and SPEC §2.5 worked examples.
U1 = "11111111-1111-1111-1111-111111111111"
ID_SET_X_P = "90d1aadfaa18d44db1bdb5e1ef8908312ae425dd"
ID_UPDATE_Y = "ffd7841775d9f25bfd1cebf734222d4de732a391"
ID_EMPTY_ROOT = "eea951019b41aa88decaa3bd97fecbd585040090"
ID_ADD_ALICE = "adebac521c653c90b4ab6c25360aaa2ac5bac614"
ID_RENAME = "d1faee9a7cc2e7d84688fc992b550b0c2dd8a0d6"
BLOB_01_05 = "f07d73c81ed1a91165a75c5cc22253cc7895a8b2"
BLOB_01_04 = "6b8f3ca756046be29244d9bdb6b5ca5c00468ad5"
