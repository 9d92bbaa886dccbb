#!/usr/bin/env python3
"""Seeded arithmetic questions with known answers, as `hedge collect` prompts (JSON lines).

Each line is {"id": "q0007", "messages": [{"role": "user", "content": "What is 3 + 5?"}], "reference": "8"}.
Questions are additions of --terms operands drawn uniformly from [--min, --max] (default: two single-digit
operands, 1 to 9), asked with one of a few phrasings; the reference is the exact sum. The same
(--count, --seed, ...) always gives the same file.

Usage: arith_prompts.py [--count 240] [--seed 16] [--min 1] [--max 9] [--terms 2] > prompts.jsonl
"""

import argparse
import json
import random
import sys

TEMPLATES = [
    "What is {expr}?",
    "Compute {expr}.",
    "{expr} = ?",
    "Calculate {expr}. Give the result as a number.",
    "What is the sum {expr}?",
]


def questions(count, seed, lo, hi, terms):
    rng = random.Random(seed)
    for i in range(count):
        ops = [rng.randint(lo, hi) for _ in range(terms)]
        expr = " + ".join(str(x) for x in ops)
        text = rng.choice(TEMPLATES).format(expr=expr)
        yield {
            "id": f"q{i:04d}",
            "messages": [{"role": "user", "content": text}],
            "reference": str(sum(ops)),
        }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=240)
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--min", type=int, default=1)
    p.add_argument("--max", type=int, default=9)
    p.add_argument("--terms", type=int, default=2)
    a = p.parse_args()
    if a.count < 1 or a.terms < 1 or a.min > a.max:
        p.error("need --count >= 1, --terms >= 1 and --min <= --max")
    for q in questions(a.count, a.seed, a.min, a.max, a.terms):
        sys.stdout.write(json.dumps(q) + "\n")


if __name__ == "__main__":
    main()
