"""Pure logic: standard library only. Nothing here imports boto3, keyring, pystray or PIL."""
