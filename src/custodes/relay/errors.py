"""The relay's typed errors: what a caller (the SMTP listener, the CLI, the delivery worker)
does next depends on which one it is. Messages never carry an address or a message's text."""

from __future__ import annotations

from custodes.errors import CustodesError, InputError


class RelayError(CustodesError):
    """Base of the relay's errors."""


class RelayInputError(RelayError, InputError):
    """A bad argument to a relay command (unknown seller, malformed smarthost); nothing written."""


class RelayRefused(RelayError):
    """An SMTP refusal: the code and text go back to the sender as they are."""

    def __init__(self, code: int, text: str, reason: str) -> None:
        super().__init__(f"{code} {text}")
        self.code, self.text, self.reason = code, text, reason

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}"


class PermanentFailure(RelayError):
    """The message cannot be delivered (5xx, recipient gone, door denied): stop retrying."""


class DeliveryDeferred(RelayError):
    """The smarthost or the ledger is away for now: the message goes back to the queue."""
