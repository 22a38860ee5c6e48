"""Amazon DynamoDB (API 2012-08-10) and DynamoDB Streams."""
