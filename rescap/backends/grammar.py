"""JSON-schema constrained decoding for transformers ``generate``, on xgrammar's batch matcher.

xgrammar's own transformers integration fills the token mask one row at a time in Python; this
processor hands the whole batch to ``BatchGrammarMatcher`` (C++, several threads) and accepts the
sampled tokens in one call, so a batch of 32 costs little more per step than a batch of 1.
Finished rows (their grammar accepted a stop token) are left unmasked: ``generate`` pads them.
"""

from __future__ import annotations

from typing import Any


class BatchJsonLogitsProcessor:
    """A transformers ``LogitsProcessor`` constraining every row of a batch to one compiled grammar.

    Use a new instance per ``generate`` call.
    """

    def __init__(self, compiled_grammar: Any, threads: int | str = "auto"):
        import xgrammar as xgr

        self._xgr = xgr
        self.grammar = compiled_grammar
        self.vocab_size = compiled_grammar.tokenizer_info.vocab_size
        self.batch = xgr.BatchGrammarMatcher(threads)
        self.matchers: list = []
        self.bitmask = None
        self.started = False

    def __call__(self, input_ids, scores):
        xgr = self._xgr
        rows = input_ids.shape[0]
        if not self.matchers:
            self.matchers = [xgr.GrammarMatcher(self.grammar) for _ in range(rows)]
            self.bitmask = xgr.allocate_token_bitmask(rows, self.vocab_size)
        elif self.started:
            live = [i for i, m in enumerate(self.matchers) if not m.is_terminated()]
            if live:
                tokens = input_ids[live, -1].tolist()
                accepted = xgr.BatchGrammarMatcher.batch_accept_token([self.matchers[i] for i in live], tokens)
                if not all(accepted):
                    raise RuntimeError("the grammar rejected a sampled token")
        self.started = True
        live = [i for i, m in enumerate(self.matchers) if not m.is_terminated()]
        self.bitmask.fill_(-1)  # all allowed, for finished rows
        if live:
            self.batch.batch_fill_next_token_bitmask([self.matchers[i] for i in live], self.bitmask, indices=live)
        device = scores.device
        if device.type not in ("cuda", "cpu"):
            scores = scores.to("cpu")
        xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        return scores.to(device)
