"""Answer quality with the local LLM writer (Qwen2.5-Coder-1.5B through llama.cpp) on a small
RGB sample: how many of the model's drafted sentences pass the citation checks, i.e. what an
unchecked answer would have shown. Needs the opt-in Qwen parts (see README).

    python bench/bench_llm_answers.py 3      # 3 RGB items x 3 conditions = 9 answers
"""

from __future__ import annotations

import sys
import time

from _util import DATA, command_line
from citewire.evaluate import report_text, run_eval
from citewire.local_llm import LlamaWriter


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    started = time.time()
    with LlamaWriter("qwen1.5b", max_tokens=300) as writer:
        report = run_eval("rgb_en_fact", DATA, limit=limit, writer=writer)
    print(f"command: {command_line()}")
    print(report_text(report))
    print(f"wall seconds {time.time() - started:.0f}")


if __name__ == "__main__":
    main()
