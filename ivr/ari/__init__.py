"""The ARI transport: the only code that talks to Asterisk's REST interface and event socket.

Call logic sees typed events (events.py), an event bus with bounded subscriptions (bus.py) and a
client whose operations take ids and plain values (client.py), sent as plain HTTP requests (rest.py).
"""
