"""Chinese text search without any service: jieba word segmentation and Okapi
BM25 over an inverted index.

BM25 is a dozen lines, so it is written here rather than taken from a package
(rank-bm25 scores every document for every query with numpy; an inverted index
touches only the documents that share a word with the query, which is what a
ticket desk of a few thousand short questions needs).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import cache

import jieba

# Words of this trade jieba's dictionary splits or misses.
TRADE_WORDS = (
    "卡密",
    "到账",
    "未到账",
    "没到账",
    "话费",
    "流量",
    "激活码",
    "兑换码",
    "充值卡",
    "点卡",
    "发票",
    "扣款",
    "重复扣款",
    "扣了两次",
    "退款",
    "补发",
    "余额",
    "订单号",
    "工单",
    "售后",
    "无效",
    "已被使用",
    "开票",
)
# Words that say nothing about what a buyer wants.
STOPWORDS = frozenset(
    "的 了 是 我 你 您 他 她 它 在 吗 呢 啊 吧 呀 哦 和 与 也 就 都 还 又 把 被 给 "
    "让 这 那 这个 那个 一个 一下 请 请问 麻烦 帮 帮忙 谢谢 你好 您好 客服 有 没 "
    "不 要 想 能 会 可以 怎么 怎么办 为什么 什么 一直 已经 现在 今天 昨天 刚刚 刚才 "
    "个 里 上 下 过 着 啦 嘛 哈 吗 呗 人 们 我们 你们 自己".split()
)
_KEEP = re.compile(r"[\w\u4e00-\u9fff]")
_LONG_NUMBER = re.compile(r"^\d{5,}$")  # order numbers, phone numbers: noise here


@cache
def _tokenizer() -> jieba.Tokenizer:
    """One jieba tokenizer per process, with the trade's words (the dictionary
    loads once, about half a second)."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    for word in TRADE_WORDS:
        tokenizer.add_word(word, freq=20000)
    return tokenizer


def tokenize(text: str) -> list[str]:
    """The words of `text` that can tell one question from another: segmented
    for search (long words and their parts), lower-cased, without punctuation,
    stopwords or long numbers."""
    words = []
    for word in _tokenizer().lcut_for_search(text.lower()):
        word = word.strip()
        if not word or word in STOPWORDS or not _KEEP.search(word):
            continue
        if _LONG_NUMBER.match(word):
            continue
        words.append(word)
    return words


class Bm25:
    """Okapi BM25 over tokenised documents (k1 = 1.5, b = 0.75; the idf of
    Lucene, which never goes negative)."""

    def __init__(
        self, documents: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75
    ):
        self.size = len(documents)
        lengths = [len(doc) for doc in documents]
        average = (sum(lengths) / self.size) if self.size else 0.0
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, doc in enumerate(documents):
            norm = k1 * (1 - b + b * lengths[index] / average) if average else k1
            for term, count in Counter(doc).items():
                postings[term].append((index, count * (k1 + 1) / (count + norm)))
        self.postings = dict(postings)
        self.idf = {
            term: math.log(1 + (self.size - len(rows) + 0.5) / (len(rows) + 0.5))
            for term, rows in self.postings.items()
        }

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """Document index → score, for the documents sharing a word with the
        query (every other document scores 0)."""
        totals: dict[int, float] = defaultdict(float)
        for term in set(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for index, weight in self.postings[term]:
                totals[index] += idf * weight
        return dict(totals)

    def top(
        self, query: Iterable[str], limit: int, *, skip: set[int] = frozenset()
    ) -> list[tuple[int, float]]:
        """The best `limit` (document index, score) pairs, best first; ties by
        index, so the answer never depends on dictionary order."""
        ranked = sorted(
            (
                (index, score)
                for index, score in self.scores(query).items()
                if index not in skip and score > 0
            ),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return ranked[:limit]
