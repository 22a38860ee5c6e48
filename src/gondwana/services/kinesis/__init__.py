"""Amazon Kinesis Data Streams (API 2013-12-02)."""
