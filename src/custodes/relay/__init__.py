"""The buyer-seller relay: pair aliases, message DLP, the SMTP relay and its durable queue."""
