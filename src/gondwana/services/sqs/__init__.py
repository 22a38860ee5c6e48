"""Amazon SQS (API 2012-11-05): standard and FIFO queues over AWS JSON 1.0 and the query protocol."""
