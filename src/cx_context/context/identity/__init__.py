"""Identity resolution: who a contact is, with a confidence and its reasons.

A pure, database-free package: profiles are built by the record store and
handed to `IdentityResolver`; claims come from a contact (identifiers, and
spoken name, postcode and date of birth with their speech-recognition
alternatives).
"""
