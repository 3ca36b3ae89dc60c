"""R1.3 避免重复交叉: find the existing pilots a new application may duplicate.

The regulation (三、(三) 试点布局) names three overlaps: a provincial pilot that repeats a
pilot the state already runs in the province (内容雷同); a new pilot in a field that already has
one; a single-item pilot whose content a comprehensive pilot already covers. The screener also
wants to see plain near-duplicates (the same plan handed in again, slightly edited).

How a pilot's Chinese text becomes comparable
---------------------------------------------
Name, goal, measures and scope are NFKC-normalised and lower-cased; everything that is not a
CJK character or an ASCII letter/digit separates. Forward maximum matching against three word
lists then cuts the text: *key terms* of the field (排污权, 生态补偿, 河长制 …) are kept whole;
*stop words* — the policy vocabulary every plan repeats (改革, 试点, 制度, 建立, 推进, 完善,
机制 …), function characters (的, 和, 与 …) and the province's place names (regions are
compared through the pilot's regions, not its wording) — cut the text. What remains are content
segments; their character bigrams (plus ASCII words such as "gep") are the pilot's *terms*.
Cutting stop words out before taking bigrams also drops the bigrams that straddle them.

Index (pilots.models_overlap, all derived, rebuilt by ``manage.py reindex_overlap``)
-------------------------------------------------------------------------------------
* OverlapFingerprint: the pilot's term ids (32-bit hashes, 4 bytes each, sorted) — the exact
  term set, so candidates are compared exactly without reading or re-analysing their text.
* OverlapBand: LSH over a one-permutation MinHash of the terms (K bins, optimal densification,
  Shrivastava 2017) cut into B bands of R bins; one indexed row per band whose key carries the
  band's hash and, in its low byte, the band number. The text candidates of a query are one
  ``key IN (...)`` look-up.
* OverlapTerm: an inverted index of hash-sampled terms, kept only for comprehensive pilots and
  pilots the state deployed, for the *containment* test (does the other text cover this one's
  terms?) that a Jaccard-style LSH cannot answer when a short text sits inside a long one.

Query
-----
Candidates come from three indexed look-ups — shared LSH bands (most shared first); same
field with overlapping regions (a county lies inside its prefecture); comprehensive and state
pilots sharing the most sampled topic terms — and are then scored exactly on their stored term
sets, never on their text:

* t, the text score: the mean of Dice and the overlap coefficient of the two term sets;
* c, the containment of this pilot's topic terms (name, goal, measures; terms of key terms
  weigh 3, other terms of the name 2) in the other's terms;
* score = t, raised to 0.4 + 0.6·t for the same field in an overlapping region
  (同一改革领域且试点地区相同/重叠), to 0.5 + 0.5·max(t, c) for a state pilot when
  max(t, c) ≥ 0.3 (国家已在我省部署同类试点), and to 0.5 + 0.5·c for a comprehensive pilot
  when this one is single and c ≥ 0.5 (综合性试点已包含相关改革内容);
* flagged when score ≥ min_score (0.35); the shared key terms and phrases are named
  (共同关键词：…).

Nothing is held in memory between queries except a bounded cache of term ids.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
import unicodedata
from array import array
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connections, router, transaction

from accounts.constants import OrgKind
from accounts.models import Organisation
from pilots.constants import Origin, PilotKind, Status
from pilots.models import OverlapFlag, Pilot
from pilots.models_overlap import OverlapBand, OverlapFingerprint, OverlapTerm

__all__ = [
    "DEFAULT_MIN_SCORE",
    "ELIGIBLE_STATES",
    "REASON_COVERED",
    "REASON_FIELD_REGION",
    "REASON_NATIONAL",
    "REASON_TERMS_PREFIX",
    "Analysis",
    "Candidate",
    "analyse",
    "find_overlaps",
    "index_pilot",
    "record_overlaps",
    "reindex_all",
    "similarity",
]

# --- parameters ------------------------------------------------------------------------------
# Bump VERSION whenever tokenising, hashing or banding changes: rows of another version are
# then ignored (their pilots are re-analysed from text) until reindex_overlap rebuilds them.
VERSION = 2
BANDS = 32  # B: LSH bands
ROWS = 2  # R: MinHash bins per band
SIG_BINS = BANDS * ROWS  # K
TERM_SAMPLE_BITS = 0x3  # a term goes into OverlapTerm when (id >> 24) & bits == 0: 1 in 4

DEFAULT_MIN_SCORE = 0.35
REGION_FLOOR = 0.4  # same field + overlapping region scores at least this
NATIONAL_MIN = 0.3  # topic similarity that makes a state pilot "同类"
COVER_MIN = 0.5  # weighted containment that makes a comprehensive pilot "已包含"
STRUCTURAL_FLOOR = 0.5  # national / covering candidates score at least this
KEY_TERM_WEIGHT = 3  # containment weight of a term inside a key term
NAME_TERM_WEIGHT = 2  # … of another term of the pilot's name (other terms weigh 1)

LSH_CAP = 400  # candidates read from the band index, most shared bands first
POSTING_CAP = 200  # candidates read from the term index, most shared terms first
REGION_CAP = 500  # candidates read from the same-field-and-region look-up
TERM_SHARE_MIN = 0.15  # sampled-term share below which containment is not worth computing
FALLBACK_CAP = 200  # candidates not (or not currently) indexed, analysed from their text

ELIGIBLE_STATES = frozenset(Status) - {
    Status.DRAFT,
    Status.REJECTED,
    Status.WITHDRAWN,
    Status.PURGED,
}
NATIONAL_ORIGINS = frozenset({Origin.CENTRAL, Origin.MINISTRY})

REASON_TERMS_PREFIX = "共同关键词："
REASON_FIELD_REGION = "同一改革领域且试点地区相同/重叠"
REASON_NATIONAL = "国家已在我省部署同类试点"
REASON_COVERED = "综合性试点已包含相关改革内容"

# --- vocabulary ------------------------------------------------------------------------------
# Policy language every reform plan repeats. Cut out before bigrams are taken.
STOP_WORDS = frozenset(
    """
    改革 试点 改革试点 试点工作 制度 体制 机制 体制机制 工作机制 体系 制度体系 建立 建立健全 健全
    健全完善 完善 推进 推动 推行 探索 探索建立 开展 实施 实行 落实 执行 加强 加快 加大 强化 深化
    深入 全面 全面推进 进一步 积极 稳步 逐步 有序 切实 着力 大力 不断 持续 创新 工作 管理 政策
    措施 办法 方案 实施方案 工作方案 规定 要求 目标 任务 重点 主要 相关 有关 各类 各级 各地 全省
    全市 全县 全区 我省 我市 我县 我区 浙江省 浙江 省级 市级 县级 省委 省政府 市委 市政府 生态文明
    生态 文明 环境 保护 建设 发展 绿色 领域 问题 能力 水平 提升 提高 促进 保障 支撑 引导 鼓励 支持
    形成 构建 打造 实现 做好 研究 制定 编制 出台 明确 规范 统一 统筹 协调 综合 综合性 专项 单项
    示范 经验 模式 路径 可复制 可推广 复制推广 成果 年底 年度 期间 通过 按照 根据 结合 围绕 坚持
    依托 利用 先行先试 先行 基础 有效 长效 新型 现代化 组织 配套 初步 基本 力争 确保 努力 全力
    全域 区域 地区 范围 内容 方面 情况 进行 加以 部门 有关部门 相关部门 单位 政府 牵头 参与 配合
    负责 责任 主体 层面 行动 计划 作用 充分 发挥 注重 重要 有力 显著 明显 取得 成效 进展 突破 一批
    若干 不少于 以上 以下 左右 期限 年内 其中 同时 此外 以及 及其 运行 完成 达到 生态环境
    """.split()
)
# Function characters that separate words.
FUNCTION_CHARS = frozenset("的和与及等并或之于对在将由为以把从向其是了各")
# Place names of the province (2024 divisions): where a pilot is run is compared through its
# regions, not its wording, so names of places are cut out like stop words.
PLACE_NAMES = frozenset(
    """
    杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 杭州市 宁波市 温州市 嘉兴市 湖州市
    绍兴市 金华市 衢州市 舟山市 台州市 丽水市 上城区 拱墅区 西湖区 滨江区 萧山区 余杭区 临平区
    钱塘区 富阳区 临安区 桐庐县 淳安县 建德市 海曙区 江北区 北仑区 镇海区 鄞州区 奉化区 余姚市
    慈溪市 宁海县 象山县 鹿城区 龙湾区 瓯海区 洞头区 瑞安市 乐清市 龙港市 永嘉县 平阳县 苍南县
    文成县 泰顺县 南湖区 秀洲区 海宁市 平湖市 桐乡市 嘉善县 海盐县 吴兴区 南浔区 德清县 长兴县
    安吉县 越城区 柯桥区 上虞区 诸暨市 嵊州市 新昌县 婺城区 金东区 兰溪市 义乌市 东阳市 永康市
    武义县 浦江县 磐安县 柯城区 衢江区 江山市 常山县 开化县 龙游县 定海区 普陀区 岱山县 嵊泗县
    椒江区 黄岩区 路桥区 临海市 温岭市 玉环市 三门县 天台县 仙居县 莲都区 龙泉市 青田县 缙云县
    遂昌县 松阳县 云和县 庆元县 景宁畲族自治县
    """.split()
)
# Terms of the field: kept whole by the segmenter, shown as shared key terms, weighted in the
# containment test.
KEY_TERMS = frozenset(
    """
    自然资源资产 自然资源资产产权 自然资源资产负债表 自然资源资产离任审计 离任审计 确权登记
    统一确权登记 不动产登记 自然生态空间 全民所有 集体所有 所有权 使用权 经营权 承包权 国土空间
    国土空间规划 国土空间用途管制 用途管制 主体功能区 生态保护红线 永久基本农田 城镇开发边界
    三线一单 多规合一 空间规划 耕地保护 耕地占补平衡 占补平衡 建设用地 土地节约集约 节约集约
    低效用地 标准地 亩均论英雄 亩均效益 用水总量 水资源 最严格水资源管理 节水 节约用水
    合同节水管理 水权 水权交易 用水权 阶梯水价 农业水价 阶梯电价 能源消费总量
    能耗双控 用能权 用能权交易 区域能评 区域环评 节能量交易 合同能源管理 清洁能源 可再生能源
    碳排放 碳排放权 碳排放权交易 碳交易 碳汇 林业碳汇 海洋碳汇 碳达峰 碳中和 碳普惠 碳账户 低碳
    零碳 近零碳 排污权 排污权交易 排污权有偿使用 排污权抵押 排污许可 排污许可证 一证式管理
    固定污染源 总量控制 污染物排放 主要污染物 有偿使用 资源有偿使用 土地有偿使用 矿产资源 矿业权
    绿色矿山 天然林 公益林 集体林权 林权 林权抵押 国有林场 森林 湿地 湿地保护 自然保护地 国家公园
    生物多样性 海洋 海岸线 滩涂 围填海 海域使用权 海湾 湾长制 河长制 湖长制 林长制 田长制 河湖长制
    流域 跨界断面 交接断面 水质 生态补偿 生态保护补偿 横向生态补偿 流域生态补偿 生态环境损害
    生态环境损害赔偿 损害赔偿 生态修复 生态产品 生态产品价值实现 生态系统生产总值 生态价值
    两山银行 两山合作社 绿水青山 金山银山 生态信用 环境信用 信用评价 环境信息公开 信息公开
    公众参与 公益诉讼 环境执法 生态环境执法 执法监管 环境监测 监测网络 在线监控 在线监测 环评审批
    环境影响评价 规划环评 项目环评 环评 排污口 入河排污口 水污染防治 大气污染防治 土壤污染
    土壤污染防治 地下水 饮用水水源 农业面源污染 面源污染 化肥农药 畜禽养殖 农村生活污水 生活污水
    污水处理 污水零直排 污泥 垃圾分类 生活垃圾 生活垃圾分类 固体废物 固废 危险废物 危废 无废城市
    生产者责任延伸 循环经济 资源循环利用 再生资源 工业园区 小微企业 绿色金融 绿色信贷 绿色保险
    绿色债券 环境污染责任保险 环责险 抵押贷款 质押贷款 生态环境导向 第三方治理 环境污染第三方治理
    环保管家 环境治理 生态环境治理 环境准入 负面清单 督察 环境保护督察 生态环境保护督察 目标责任制
    绩效评价 考核评价 评价考核 责任追究 终身追责 党政同责 一岗双责 生态文明建设目标评价考核
    绿色发展指数 美丽乡村 美丽浙江 大数据 生态环境大数据 智慧监管 最多跑一次 证照分离 告知承诺
    环保信用 企业环境信用 交易平台 交易市场 市场化 初始分配 有偿取得 收储 储备 抵押 收费 税费
    环境保护税 资源税 生态环境分区管控 分区管控 清单化 数字化 一张图
    """.split()
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SEP = "\x00"
_NONWORD_RE = re.compile(f"[^{_CJK}a-z0-9]+")
_SCRIPT_CHANGE_RE = re.compile(f"(?<=[a-z0-9])(?=[{_CJK}])|(?<=[{_CJK}])(?=[a-z0-9])")


def _trie_regex(words: Iterable[str]) -> re.Pattern[str]:
    """One regex that matches, at each position, the longest of `words` starting there."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(build(trie))


_WORD_RE = _trie_regex(STOP_WORDS | PLACE_NAMES | KEY_TERMS | FUNCTION_CHARS)
# Bigrams that are never terms: those inside stop words (生态, 态环 …) and two-character place
# names; they survive the cutting only inside key terms or next to an edited character.
_STOP_BIGRAMS = frozenset(
    {w[i : i + 2] for w in STOP_WORDS for i in range(len(w) - 1)}
    | {w for w in PLACE_NAMES if len(w) == 2}
)


# --- term ids --------------------------------------------------------------------------------
@lru_cache(maxsize=1 << 16)
def term_id(term: str) -> int:
    """A term's 32-bit id (stable across processes and databases)."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")


def _pack_ids(ids: Iterable[int]) -> bytes:
    arr = array("I", sorted(ids))
    if sys.byteorder == "big":  # pragma: no cover - stored little-endian everywhere
        arr.byteswap()
    return arr.tobytes()


def _unpack_ids(raw) -> array:
    arr = array("I")
    arr.frombytes(bytes(raw or b""))
    if sys.byteorder == "big":  # pragma: no cover
        arr.byteswap()
    return arr


# --- text analysis ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Analysis:
    """What the engine knows about one pilot's text."""

    ids: frozenset[int]  # term ids of name + goal + measures + scope
    topic: dict[int, int]  # term ids of name + goal + measures → containment weight
    keys: tuple[str, ...]  # key terms, in order of first appearance
    segments: tuple[str, ...]  # CJK content segments, for naming shared phrases
    topic_weight: int = field(default=0)
    # Per segment, the id of each bigram (None for a stop-word bigram).
    segment_ids: tuple[tuple[int | None, ...], ...] = ()
    # The topic ids grouped by weight, for a containment test by set intersections.
    topic_groups: tuple[tuple[int, frozenset[int]], ...] = ()


def normalise(text: str) -> str:
    text = text or ""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


def _segment(text: str, segments: list[str], ascii_words: list[str], keys: list[str]) -> None:
    def cut(match: re.Match) -> str:
        word = match.group()
        if word in KEY_TERMS:
            keys.append(word)
            return word
        return _SEP

    text = _SCRIPT_CHANGE_RE.sub(_SEP, _NONWORD_RE.sub(_SEP, normalise(text)))
    for piece in _WORD_RE.sub(cut, text).split(_SEP):
        if not piece:
            continue
        if piece[0] >= "\u3400":
            if len(piece) >= 2:
                segments.append(piece)
        elif len(piece) >= 2 and not piece.isdigit():
            ascii_words.append(piece)


def _bigrams(segments: Iterable[str]) -> set[str]:
    """Character bigrams of the segments, except bigrams of stop words (which survive inside
    key terms: 生态补偿 → 态补, 补偿)."""
    out: set[str] = set()
    for seg in segments:
        out.update(seg[i : i + 2] for i in range(len(seg) - 1))
    out -= _STOP_BIGRAMS
    return out


def analyse(name: str, goal: str = "", measures: str = "", scope: str = "") -> Analysis:
    """Cut a pilot's four texts into terms (see the module docstring)."""
    segments: list[str] = []
    words: list[str] = []
    keys: list[str] = []
    _segment(name, segments, words, keys)
    name_terms = _bigrams(segments) | set(words)
    n_name, n_words = len(segments), len(words)
    _segment(goal, segments, words, keys)
    _segment(measures, segments, words, keys)
    topic_terms = name_terms | _bigrams(segments[n_name:]) | set(words[n_words:])
    n_topic, n_words = len(segments), len(words)
    _segment(scope, segments, words, keys)
    terms = topic_terms | _bigrams(segments[n_topic:]) | set(words[n_words:])
    key_terms = _bigrams(keys)
    topic = {
        term_id(t): KEY_TERM_WEIGHT
        if t in key_terms
        else NAME_TERM_WEIGHT
        if t in name_terms
        else 1
        for t in topic_terms
    }
    return Analysis(
        ids=frozenset(term_id(t) for t in terms),
        topic=topic,
        keys=tuple(dict.fromkeys(keys)),
        segments=tuple(segments),
        topic_weight=sum(topic.values()),
        topic_groups=tuple(
            (w, frozenset(t for t, tw in topic.items() if tw == w)) for w in set(topic.values())
        ),
        segment_ids=tuple(
            tuple(
                None if seg[i : i + 2] in _STOP_BIGRAMS else term_id(seg[i : i + 2])
                for i in range(len(seg) - 1)
            )
            for seg in segments
        ),
    )


def term_ids(name: str, goal: str = "", measures: str = "", scope: str = "") -> frozenset[int]:
    """The term ids of `analyse(...)` alone (what the index stores), computed faster."""
    segments: list[str] = []
    words: list[str] = []
    keys: list[str] = []
    for text in (name, goal, measures, scope):
        _segment(text, segments, words, keys)
    terms = _bigrams(segments)
    terms.update(words)
    return frozenset(map(term_id, terms))


def analyse_pilot(pilot) -> Analysis:
    return analyse(pilot.name, pilot.goal, pilot.measures, pilot.scope)


def dice(a: Analysis, other: frozenset[int] | set[int]) -> float:
    """Dice similarity of a's terms and another term set."""
    if not a.ids or not other:
        return 0.0
    return 2 * len(a.ids & other) / (len(a.ids) + len(other))


def text_similarity(a: Analysis, other: Collection[int]) -> float:
    """The text score: the mean of Dice and the overlap coefficient (shared terms over the
    smaller set), so that a lightly edited copy scores high even when the edits add terms.
    `other` holds distinct ids (a set, or the sorted array the index stores)."""
    if not a.ids or not other:
        return 0.0
    shared = len(a.ids.intersection(other))
    return (2 * shared / (len(a.ids) + len(other)) + shared / min(len(a.ids), len(other))) / 2


def containment(a: Analysis, other: Collection[int]) -> float:
    """How much of a's topic terms (name, goal, measures; weighted) the other text has.
    `other` holds distinct ids (a set, or the sorted array the index stores)."""
    if not a.topic_weight:
        return 0.0
    return sum(w * len(ids.intersection(other)) for w, ids in a.topic_groups) / a.topic_weight


def similarity(a_text: str, b_text: str) -> float:
    """The text score of two free texts (for callers outside the pilot flow)."""
    return text_similarity(analyse(a_text), analyse(b_text).ids)


def shared_terms(a: Analysis, other: frozenset[int] | set[int], limit: int = 5) -> list[str]:
    """Words of a that the other text uses too: key terms first, then the longest shared
    phrases (runs of a's content whose every bigram the other has), at most 8 characters.
    Stop-word bigrams left inside key terms (生态, 环境 …) are not terms: they neither break
    nor make a match."""

    def has(phrase: str) -> bool:
        flags = [
            None if phrase[i : i + 2] in _STOP_BIGRAMS else term_id(phrase[i : i + 2]) in other
            for i in range(len(phrase) - 1)
        ]
        return any(flags) and False not in flags

    chosen = [k for k in a.keys if len(k) >= 2 and has(k)]
    chosen = [k for k in chosen if not any(k != o and k in o for o in chosen)]
    phrases: list[tuple[int, int, str]] = []
    for seg, ids in zip(a.segments, a.segment_ids, strict=True):
        flags = [None if t is None else t in other for t in ids]
        i, n = 0, len(flags)
        while i < n:
            if flags[i] is False:
                i += 1
                continue
            j = i
            while j + 1 < n and flags[j + 1] is not False:
                j += 1
            phrase = seg[i : j + 2]
            if len(phrase) <= 8 and any(flags[i : j + 1]):
                phrases.append((-len(phrase), len(phrases), phrase))
            i = j + 1
    for _, _, phrase in sorted(phrases):
        if len(chosen) >= limit:
            break
        if not any(phrase in c or c in phrase for c in chosen):
            chosen.append(phrase)
    return chosen[:limit]


# --- MinHash / LSH ---------------------------------------------------------------------------
assert SIG_BINS & (SIG_BINS - 1) == 0 and BANDS < 256, "K must be a power of two, B < 256"
_BIN_BITS = SIG_BINS.bit_length() - 1
_EMPTY = 1 << 32  # larger than any bin value
_M64 = (1 << 64) - 1
_rng = random.Random(20180628)
# Optimal densification: an empty bin takes the value of the first non-empty bin in its own
# fixed probe order, so that equal term sets get equal signatures.
_PROBES = tuple(
    tuple(_rng.randrange(SIG_BINS) for _ in range(4 * SIG_BINS)) for _ in range(SIG_BINS)
)
# Band hashing: per band a seed and a random odd multiplier per row (xor-multiply), then mixed.
_BAND_MULT = tuple(tuple(_rng.getrandbits(64) | 1 for _ in range(ROWS)) for _ in range(BANDS))
_BAND_SEED = tuple(_rng.getrandbits(64) for _ in range(BANDS))
_MIX = 0xBF58476D1CE4E5B9


def signature(ids: Iterable[int]) -> list[int] | None:
    """One-permutation MinHash of a term-id set (bin: the id's low bits, value: the rest),
    densified; None if the set is empty."""
    bins = [_EMPTY] * SIG_BINS
    mask = SIG_BINS - 1
    for t in ids:
        b, v = t & mask, t >> _BIN_BITS
        if v < bins[b]:
            bins[b] = v
    empty = [i for i, v in enumerate(bins) if v == _EMPTY]
    if len(empty) == SIG_BINS:
        return None
    out = bins[:]
    for i in empty:
        for j in _PROBES[i]:
            if bins[j] != _EMPTY:
                out[i] = bins[j]
                break
        else:  # pragma: no cover - all 4K probes empty: practically never
            out[i] = min(x for x in bins if x != _EMPTY)
    return out


def band_keys(ids: Iterable[int]) -> list[int]:
    """The B indexed keys of a term set: a 55-bit hash of the band's R bins, shifted left by
    8, plus the band number."""
    sig = signature(ids)
    if sig is None:
        return []
    keys = []
    for band in range(BANDS):
        h = _BAND_SEED[band]
        base = band * ROWS
        for r, mult in enumerate(_BAND_MULT[band]):
            h = ((h ^ sig[base + r]) * mult) & _M64
        h = ((h ^ (h >> 31)) * _MIX) & _M64
        h ^= h >> 29
        keys.append(((h >> 9) << 8) | band)
    return keys


def sampled_terms(ids: Iterable[int]) -> list[int]:
    """The terms of a set that go into OverlapTerm, as signed 32-bit values."""
    return sorted(
        t - (1 << 32) if t >= 1 << 31 else t for t in ids if not (t >> 24) & TERM_SAMPLE_BITS
    )


def _is_reference(kind: str, origin: str) -> bool:
    """Pilots whose terms go into OverlapTerm: comprehensive ones and those of the state."""
    return kind == PilotKind.COMPREHENSIVE or origin in NATIONAL_ORIGINS


def _text_hash(name, goal, measures, scope, kind, origin) -> str:
    joined = "\x1f".join(str(x or "") for x in (VERSION, name, goal, measures, scope, kind, origin))
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class _Entry:
    """The index rows of one pilot."""

    pilot_id: int
    text_hash: str
    ids: frozenset[int]
    keys: list[int]
    terms: list[int]

    @classmethod
    def build(cls, pk, name, goal, measures, scope, kind, origin) -> _Entry:
        ids = term_ids(name, goal, measures, scope)
        return cls(
            pilot_id=pk,
            text_hash=_text_hash(name, goal, measures, scope, kind, origin),
            ids=ids,
            keys=band_keys(ids),
            terms=sampled_terms(ids) if _is_reference(kind, origin) else [],
        )

    def fingerprint(self) -> OverlapFingerprint:
        return OverlapFingerprint(
            pilot_id=self.pilot_id,
            version=VERSION,
            text_hash=self.text_hash,
            terms=_pack_ids(self.ids),
            term_count=len(self.ids),
            is_reference=bool(self.terms),
        )


# --- writing the index -----------------------------------------------------------------------
def index_pilot(pilot) -> None:
    """(Re)compute and store the pilot's overlap index rows from its current text, kind and
    origin. Idempotent: when they are what was indexed, nothing is written."""
    if pilot.pk is None:
        raise ValueError("index_pilot: the pilot must be saved first")
    entry = _Entry.build(
        pilot.pk, pilot.name, pilot.goal, pilot.measures, pilot.scope, pilot.kind, pilot.origin
    )
    with transaction.atomic():
        # Two indexings of one pilot at once would insert the same keys: lock its row.
        list(Pilot.objects.select_for_update().filter(pk=pilot.pk).values_list("pk"))
        old = OverlapFingerprint.objects.filter(pilot_id=pilot.pk).first()
        if old is not None and old.version == VERSION and old.text_hash == entry.text_hash:
            return
        if old is not None and old.version == VERSION:
            # The old rows follow from the stored terms: delete them by primary key.
            old_ids = _unpack_ids(old.terms)
            OverlapBand.objects.filter(pilot_id=pilot.pk, key__in=band_keys(old_ids)).delete()
            if old.is_reference:
                OverlapTerm.objects.filter(
                    pilot_id=pilot.pk, term__in=sampled_terms(old_ids)
                ).delete()
        elif old is not None:  # indexed by another version: find its rows the slow way (once)
            OverlapBand.objects.filter(pilot_id=pilot.pk).delete()
            OverlapTerm.objects.filter(pilot_id=pilot.pk).delete()
        # (No fingerprint, no rows: both are always written together.)
        OverlapBand.objects.bulk_create(OverlapBand(key=k, pilot_id=pilot.pk) for k in entry.keys)
        OverlapTerm.objects.bulk_create(OverlapTerm(term=t, pilot_id=pilot.pk) for t in entry.terms)
        entry.fingerprint().save(force_insert=old is None, force_update=old is not None)


class _Stage:
    """A temporary table that rows are appended to without any index, then moved into the
    index table in primary-key order: one sorted set-based insert instead of millions of
    random B-tree inserts."""

    def __init__(self, model, columns: tuple[str, str]) -> None:
        self.model = model
        self.connection = connections[router.db_for_write(model)]
        qn = self.connection.ops.quote_name
        self.table = qn(f"overlap_stage_{model._meta.model_name}")
        self.columns = ", ".join(qn(model._meta.get_field(c).column) for c in columns)
        self.count = 0
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table} "
                f"({qn(columns[0])} BIGINT NOT NULL, {qn('pilot_id')} BIGINT NOT NULL)"
            )

    def append(self, rows: list[tuple]) -> None:
        if not rows:
            return
        self.count += len(rows)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.table} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(f"INSERT INTO {self.table} VALUES (%s, %s)", rows)

    def commit(self) -> int:
        target = self.connection.ops.quote_name(self.model._meta.db_table)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {target} ({self.columns}) SELECT * FROM {self.table} ORDER BY 1, 2"
            )
            cursor.execute(f"DROP TABLE {self.table}")
        return self.count


def _clear_index() -> None:
    tables = [m._meta.db_table for m in (OverlapBand, OverlapTerm, OverlapFingerprint)]
    connection = connections[router.db_for_write(OverlapFingerprint)]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE refuses while deferred foreign-key checks on these tables are pending
            # (an outer transaction wrote to them): run those checks first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE " + ", ".join(qn(t) for t in tables))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {qn(table)}")


def _pilot_text_batches(batch_size: int) -> Iterator[list[tuple]]:
    last = 0
    fields = ("pk", "name", "goal", "measures", "scope", "kind", "origin")
    while True:
        batch = list(
            Pilot.objects.filter(pk__gt=last).order_by("pk").values_list(*fields)[:batch_size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def reindex_all(batch_size: int = 1000) -> dict[str, int]:
    """Rebuild the whole index in one transaction, set-based, `batch_size` pilots at a time
    (readers keep seeing the old index until it commits). Returns the row counts."""
    with transaction.atomic():
        _clear_index()
        bands, terms = _Stage(OverlapBand, ("key", "pilot")), _Stage(OverlapTerm, ("term", "pilot"))
        pilots = 0
        for batch in _pilot_text_batches(batch_size):
            entries = [_Entry.build(*row) for row in batch]
            OverlapFingerprint.objects.bulk_create(
                [e.fingerprint() for e in entries], batch_size=batch_size
            )
            bands.append([(k, e.pilot_id) for e in entries for k in e.keys])
            terms.append([(t, e.pilot_id) for e in entries for t in e.terms])
            pilots += len(entries)
        return {"pilots": pilots, "bands": bands.commit(), "terms": terms.commit()}


# --- querying --------------------------------------------------------------------------------
@dataclass
class Candidate:
    """An existing pilot that may overlap the one being checked."""

    pilot_id: int
    score: float  # 0..1
    reasons: list[str]  # in Chinese, for the screener


@dataclass
class _Prospect:
    pilot_id: int
    in_region: bool = False
    kind: str = ""
    origin: str = ""
    ids: Collection[int] = ()  # distinct term ids: the stored array, or a set
    term_share: float = 0.0  # share of this pilot's sampled topic terms it has (term index)


def region_scope(pilot) -> set[int]:
    """Regions that overlap the pilot's: its own, the prefectures of its counties, and the
    counties of its prefectures."""
    if pilot.pk is None:
        return set()
    own = list(pilot.regions.values_list("pk", "parent_id", "kind"))
    scope = {pk for pk, _, _ in own}
    scope |= {parent for _, parent, kind in own if kind == OrgKind.COUNTY and parent}
    prefectures = [pk for pk, _, kind in own if kind == OrgKind.PREFECTURE]
    if prefectures:
        scope |= set(
            Organisation.objects.filter(parent_id__in=prefectures, kind=OrgKind.COUNTY).values_list(
                "pk", flat=True
            )
        )
    return scope


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _fetch(model, sql: str, params: list) -> list[tuple]:
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _sql(model) -> tuple:
    """(quote_name, is PostgreSQL) for plain SQL on the model's database."""
    connection = connections[router.db_for_read(model)]
    return connection.ops.quote_name, connection.vendor == "postgresql"


def _in(column: str, values: list, postgres: bool) -> tuple[str, list]:
    """`column IN (...)`: one array parameter on PostgreSQL, one parameter a value elsewhere."""
    if postgres:
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _most_shared(
    model, column: str, values: list[int], own: int | None, cap: int
) -> list[tuple[int, int]]:
    """(pilot, rows) for the pilots with the most index rows among `values`, best first;
    plain SQL on one table (its primary key (column, pilot) makes it an index range scan per
    value)."""
    if not values:
        return []
    qn, postgres = _sql(model)
    where, params = _in(qn(column), values, postgres)
    if own is not None:
        where += f" AND {qn('pilot_id')} <> %s"
        params.append(own)
    sql = (
        f"SELECT {qn('pilot_id')}, COUNT(*) AS n FROM {qn(model._meta.db_table)} "
        f"WHERE {where} GROUP BY {qn('pilot_id')} ORDER BY n DESC, {qn('pilot_id')} LIMIT %s"
    )
    return _fetch(model, sql, [*params, cap])


def _same_field_in_region(field: str, scope: set[int], own: int | None) -> list[int]:
    """Pilots still in play of the field with a region in `scope`, newest first (at most
    REGION_CAP). A region has far fewer pilots than a field, so the region table leads: on
    SQLite through a CROSS JOIN (which keeps the join order), on PostgreSQL through an IN
    subquery (a join with ORDER BY … LIMIT lures its planner into scanning the whole table)."""
    if not scope or not field:
        return []
    qn, postgres = _sql(Pilot)
    through = Pilot.regions.through
    r_pilot = "r." + qn(through._meta.get_field("pilot").column)
    in_scope, params = _in(
        "r." + qn(through._meta.get_field("organisation").column), sorted(scope), postgres
    )
    in_play, states = _in(f"p.{qn('status')}", sorted(ELIGIBLE_STATES), postgres)
    not_own = f" AND p.{qn('id')} <> %s" if own is not None else ""
    regions, pilots = qn(through._meta.db_table), qn(Pilot._meta.db_table)
    if postgres:
        sql = (
            f"SELECT p.{qn('id')} FROM {pilots} p WHERE p.{qn('id')} IN "
            f"(SELECT {r_pilot} FROM {regions} r WHERE {in_scope}) "
            f"AND p.{qn('field')} = %s AND {in_play}{not_own}"
        )
        params = [*params, field, *states, *([own] if own is not None else [])]
        return sorted((row[0] for row in _fetch(Pilot, sql, params)), reverse=True)[:REGION_CAP]
    sql = (
        f"SELECT DISTINCT {r_pilot} FROM {regions} r CROSS JOIN {pilots} p "
        f"WHERE p.{qn('id')} = {r_pilot} AND {in_scope} "
        f"AND p.{qn('field')} = %s AND {in_play}{not_own} ORDER BY {r_pilot} DESC LIMIT %s"
    )
    params = [*params, field, *states, *([own] if own is not None else []), REGION_CAP]
    return [row[0] for row in _fetch(Pilot, sql, params)]


def _pilots_with_terms(ids: list[int]) -> Iterator[tuple]:
    """(pk, status, kind, origin, stored terms, index version) of the given pilots."""
    qn, postgres = _sql(Pilot)
    pilot, fp = qn(Pilot._meta.db_table), qn(OverlapFingerprint._meta.db_table)
    for chunk in _chunks(ids, 2000):
        where, params = _in(f"p.{qn('id')}", chunk, postgres)
        sql = (
            f"SELECT p.{qn('id')}, p.{qn('status')}, p.{qn('kind')}, p.{qn('origin')}, "
            f"f.{qn('terms')}, f.{qn('version')} FROM {pilot} p "
            f"LEFT JOIN {fp} f ON f.{qn('pilot_id')} = p.{qn('id')} WHERE {where}"
        )
        yield from _fetch(Pilot, sql, params)


def _prospects(pilot, text: Analysis, scope: set[int]) -> dict[int, _Prospect]:
    """Candidate pilots from the three indexed look-ups, with their kind, origin and terms.

    The index look-ups read only the index tables (no join): status, kind and origin are
    checked on the few pilots read back."""
    prospects: dict[int, _Prospect] = {}
    own = pilot.pk

    # 1. Similar text: pilots sharing LSH bands, most shared bands first.
    for pk, _ in _most_shared(OverlapBand, "key", band_keys(text.ids), own, LSH_CAP):
        prospects[pk] = _Prospect(pk)
    # 2. Same field, overlapping regions.
    for pk in _same_field_in_region(pilot.field, scope, own):
        p = prospects.get(pk)
        if p is None:
            p = prospects[pk] = _Prospect(pk)
        p.in_region = True
    # 3. Comprehensive and state pilots whose text has many of this one's topic terms.
    terms = sampled_terms(text.topic)
    for pk, hits in _most_shared(OverlapTerm, "term", terms, own, POSTING_CAP):
        p = prospects.get(pk)
        if p is None:
            p = prospects[pk] = _Prospect(pk)
        p.term_share = hits / len(terms)
    # Their status, kind, origin and stored terms; pilots not indexed (by this version) are
    # analysed from their text.
    unindexed: list[int] = []
    read: dict[int, _Prospect] = {}  # (index rows of a deleted pilot are left out too)
    for pk, status, kind, origin, raw, version in _pilots_with_terms(list(prospects)):
        if status not in ELIGIBLE_STATES:
            continue
        p = read[pk] = prospects[pk]
        p.kind, p.origin = kind, origin
        if version == VERSION:
            p.ids = _unpack_ids(raw)
        else:
            unindexed.append(pk)
    for pk in unindexed[FALLBACK_CAP:]:
        del read[pk]
    for pk, name, goal, measures, scope_text in Pilot.objects.filter(
        pk__in=unindexed[:FALLBACK_CAP]
    ).values_list("pk", "name", "goal", "measures", "scope"):
        p = read[pk]
        p.ids = term_ids(name, goal, measures, scope_text)
        p.term_share = 1.0  # not in the term index: always compute the containment
    return read


def _score(pilot, text: Analysis, p: _Prospect) -> tuple[float, list[str]]:
    """Score (0..1) and the structural reasons of one prospect."""
    text_sim = text_similarity(text, p.ids)
    score = text_sim
    reasons: list[str] = []
    if p.in_region:
        score = max(score, REGION_FLOOR + (1 - REGION_FLOOR) * text_sim)
        reasons.append(REASON_FIELD_REGION)
    national = p.origin in NATIONAL_ORIGINS
    covering = pilot.kind == PilotKind.SINGLE and p.kind == PilotKind.COMPREHENSIVE
    # The term index's estimate spares the exact containment of the hopeless (most of them).
    hopeful = p.term_share >= TERM_SHARE_MIN or len(text.topic) < 16
    cover = containment(text, p.ids) if (national or covering) and hopeful else 0.0
    if national and max(text_sim, cover) >= NATIONAL_MIN:
        score = max(score, STRUCTURAL_FLOOR + (1 - STRUCTURAL_FLOOR) * max(text_sim, cover))
        reasons.append(REASON_NATIONAL)
    if covering and cover >= COVER_MIN:
        score = max(score, STRUCTURAL_FLOOR + (1 - STRUCTURAL_FLOOR) * cover)
        reasons.append(REASON_COVERED)
    return min(score, 1.0), reasons


def find_overlaps(
    pilot, *, limit: int = 20, min_score: float = DEFAULT_MIN_SCORE
) -> list[Candidate]:
    """Existing pilots that may overlap `pilot`, best first: submitted or later, not
    rejected, withdrawn or purged, never drafts, never the pilot itself.

    The pilot's text, field and kind are read from the object (it need not be indexed or even
    saved); its regions from the database."""
    text = analyse_pilot(pilot)
    prospects = _prospects(pilot, text, region_scope(pilot))
    scored = []
    for p in prospects.values():
        score, reasons = _score(pilot, text, p)
        if score >= min_score:
            scored.append((-score, p.pilot_id, reasons, p))
    scored.sort(key=lambda s: (s[0], s[1]))
    out = []
    for neg_score, pk, reasons, p in scored[:limit]:
        terms = shared_terms(text, set(p.ids))
        if terms:
            reasons = [REASON_TERMS_PREFIX + "、".join(terms), *reasons]
        out.append(Candidate(pilot_id=pk, score=round(-neg_score, 4), reasons=reasons))
    return out


def record_overlaps(pilot) -> list[OverlapFlag]:
    """Run find_overlaps and upsert one OverlapFlag per candidate, keeping any verdict, note
    and decider already recorded. Flags of pilots no longer found are left as they are.
    Returns the flags of the current candidates, best first."""
    if pilot.pk is None:
        raise ValueError("record_overlaps: the pilot must be saved first")
    candidates = find_overlaps(pilot)
    flags: list[OverlapFlag] = []
    with transaction.atomic():
        # Serialise concurrent checks of the same pilot (SQLite serialises writers anyway).
        list(Pilot.objects.select_for_update().filter(pk=pilot.pk).values_list("pk"))
        existing = {f.other_id: f for f in OverlapFlag.objects.filter(pilot_id=pilot.pk)}
        for cand in candidates:
            flag = existing.get(cand.pilot_id)
            if flag is None:
                flag = OverlapFlag(
                    pilot_id=pilot.pk,
                    other_id=cand.pilot_id,
                    score=cand.score,
                    reasons=cand.reasons,
                )
                flag._change_reason = "重复交叉检查"
                flag.save()
            elif flag.score != cand.score or flag.reasons != cand.reasons:
                flag.score = cand.score
                flag.reasons = cand.reasons
                flag._change_reason = "重复交叉检查：更新相似度和提示原因"
                flag.save(update_fields=["score", "reasons"])
            flags.append(flag)
    return flags
