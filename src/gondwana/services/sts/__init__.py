"""AWS STS, just enough for clients to learn which account their keys belong to."""
