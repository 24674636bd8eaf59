"""The delivery pipeline every channel plugs into.

record (before the platform is answered) → handle in batches (claimed, one transaction a batch) →
replies stored in the outbox in the step's transaction → sent (claimed, settled only by a final
answer) — with every long-running loop supervised. A channel is an adapter (`adapter.py`): it
parses platform requests into core events, renders replies into platform calls, and maps each
platform answer into one `SendResult`.
"""
