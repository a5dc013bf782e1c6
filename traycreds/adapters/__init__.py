"""The only modules that import boto3, keyring or touch the file system for the engine."""
