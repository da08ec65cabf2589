"""The PII vault: envelope encryption, blind index, masks, pseudonyms, rotation, crypto-shredding.

The public surface never returns plaintext; decryption lives in `custodes.vault._hazmat`.
"""
