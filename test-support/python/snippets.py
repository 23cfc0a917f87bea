"""Runs snippets of redis-py code, one after another, with a client `r`.

Usage: REDIS_URL=redis://127.0.0.1:6379 python snippets.py < snippets.json (an array of code)
Prints, as JSON, one {"error": null | "..."} per snippet.
"""
import json
import os
import sys

import redis


def main():
    snippets = json.load(sys.stdin)
    r = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    results = []
    for code in snippets:
        try:
            exec(code, {"r": r})
            results.append({"error": None})
        except Exception as e:  # a snippet's failure is a result, like redis-cli's error
            results.append({"error": str(e)})
    sys.stdout.write(json.dumps(results))


main()
