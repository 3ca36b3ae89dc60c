"""R1.3 text analysis: how a pilot's Chinese text becomes comparable.

Words
-----
Each of name, goal, measures and scope is NFKC-normalised, lower-cased and cut into words by
jieba (search mode, no HMM: long words also yield their dictionary sub-words, and the cut is
deterministic). jieba's own dictionary is extended with the key terms of the field and every
wording of the reform glossary, so that 排污权有偿使用 or 勘界定标 stay whole. Single
characters, numbers, the policy vocabulary every plan repeats (改革, 试点, 建立, 推进 …; a word
made only of such words goes too) and the province's place names (regions are compared through
the pilot's regions, not its wording) are dropped. What remains are the pilot's *words*; their
32-bit ids are what the index stores.

Reforms
-------
``pilots/data/reform_terms.txt`` names the reform items of the field with their wordings
(生态保护红线: 生态红线、红线划定、勘界定标 …; 规划环评 < 环评 …). A text mentions a reform
when it contains one of its wordings (leftmost-longest, so 国土空间规划 is not also 空间规划);
a reform implies its broader one. The reforms of a pilot's name — of its goal when the name
names none and it is a single-item pilot — are its *core*: what the pilot is about. Two pilots
with a shared core reform are the same reform in other words, whatever their wording.

jieba is loaded lazily, once per process, without its log output.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "FUNCTION_CHARS",
    "GLOSSARY_PATH",
    "KEY_TERMS",
    "PARTS",
    "PLACE_NAMES",
    "STOP_WORDS",
    "Analysis",
    "Glossary",
    "analyse",
    "analyse_pilot",
    "concept_id",
    "containment",
    "core_key",
    "dice",
    "glossary",
    "glossary_digest",
    "normalise",
    "part_reforms",
    "part_words",
    "similarity",
    "term_id",
    "text_similarity",
    "tokenizer",
]

GLOSSARY_PATH = Path(__file__).resolve().parent.parent / "data" / "reform_terms.txt"
# The compared parts of a pilot, with their names in the screener's reasons.
PARTS = {"name": "名称", "goal": "目标", "measures": "措施"}
KEY_TERM_WEIGHT = 3  # containment weight of a key term of the field (or of the glossary)
NAME_TERM_WEIGHT = 2  # … of another word of the pilot's name (other words weigh 1)
USER_WORD_FREQ = 20_000  # jieba frequency of added words: high enough to keep them whole

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
_WORD_RE = re.compile(f"^(?:[{_CJK}]{{2,}}|[a-z0-9]{{2,}})$")


def normalise(text: str) -> str:
    text = text or ""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


# --- term ids --------------------------------------------------------------------------------
@lru_cache(maxsize=1 << 16)
def term_id(term: str) -> int:
    """A term's 32-bit id (stable across processes and databases)."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")


def concept_id(reform: str) -> int:
    """The id of a reform item, as the fingerprint stores it and as a posting of the reform
    mentioned anywhere in a pilot's name, goal or measures."""
    return term_id("\x01" + reform)


def core_key(reform: str) -> int:
    """The posting of a reform that is a pilot's core (what its name is about)."""
    return term_id("\x02" + reform)


# --- the reform glossary ---------------------------------------------------------------------
@dataclass(frozen=True)
class Glossary:
    """Reform items, their wordings and their broader items (see the module docstring)."""

    wordings: dict[str, str]  # normalised wording → reform
    parents: dict[str, str]  # reform → broader reform
    pattern: re.Pattern[str]  # leftmost-longest match of any wording

    def with_ancestors(self, reform: str) -> list[str]:
        out = [reform]
        while (reform := self.parents.get(reform, "")) and reform not in out:
            out.append(reform)
        return out

    def find(self, text: str) -> list[tuple[str, str]]:
        """(reform, wording) for every wording in an already normalised text, in order; the
        broader reforms of each follow it with the same wording."""
        return [
            (reform, match.group())
            for match in self.pattern.finditer(text)
            for reform in self.with_ancestors(self.wordings[match.group()])
        ]


def parse_glossary(text: str) -> Glossary:
    """Read ``reform [< broader]: wording、wording …`` lines (# starts a comment)."""
    wordings: dict[str, str] = {}
    parents: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, _, tail = line.partition(":")
        reform, _, parent = (s.strip() for s in head.partition("<"))
        reform = normalise(reform)
        if parent:
            parents[reform] = normalise(parent)
        for wording in [reform, *re.split(r"[、,，\s]+", tail)]:
            wording = normalise(wording.strip())
            if wording:
                wordings.setdefault(wording, reform)
    ordered = sorted(wordings, key=lambda w: (-len(w), w))
    pattern = re.compile("|".join(map(re.escape, ordered)) or "(?!)")
    return Glossary(wordings=wordings, parents=parents, pattern=pattern)


@lru_cache(maxsize=1)
def glossary() -> Glossary:
    return parse_glossary(GLOSSARY_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def glossary_digest() -> str:
    return hashlib.blake2b(GLOSSARY_PATH.read_bytes(), digest_size=8).hexdigest()


# --- jieba -----------------------------------------------------------------------------------
_tokenizer = None
_tokenizer_lock = threading.Lock()


def tokenizer():
    """The process's jieba tokenizer with the field's words added, built on first use (about
    a second: jieba reads its dictionary) and silent: jieba logs its loading at DEBUG."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                words = set(glossary().wordings) | KEY_TERMS
                for word in sorted(words):
                    if _WORD_RE.match(word):
                        tk.add_word(word, freq=USER_WORD_FREQ)
                _tokenizer = tk
    return _tokenizer


# Place names are also written without their 市/县/区 (温岭, 长兴).
_DROPPED = (
    STOP_WORDS
    | PLACE_NAMES
    | {p[:-1] for p in PLACE_NAMES if len(p) >= 3 and p[-1] in "市县区" and p[-2] != "自"}
)


@lru_cache(maxsize=1 << 15)
def _is_content_word(word: str) -> bool:
    """A word worth comparing: two or more CJK characters or ASCII letters/digits, not a
    number, and not made only of stop words, function characters and place names."""
    if not _WORD_RE.match(word) or word.isdigit() or word in _DROPPED:
        return False
    if not "\u3400" <= word[0]:
        return True
    # Can the word be cut into dropped pieces entirely? (生态保护 = 生态 + 保护)
    n = len(word)
    covered = [True] + [False] * n
    for end in range(1, n + 1):
        for start in range(max(0, end - 8), end):
            piece = word[start:end]
            if covered[start] and (piece in _DROPPED or piece in FUNCTION_CHARS):
                covered[end] = True
                break
    return not covered[n]


def part_words(text: str) -> tuple[str, ...]:
    """The content words of one text, in order, repeated as they occur."""
    return _part_words(normalise(text))


@lru_cache(maxsize=4096)
def _part_words(text: str) -> tuple[str, ...]:
    # Bounded: the texts of the pilots most often compared are cut once per process.
    if not text:
        return ()
    return tuple(w for w in tokenizer().cut_for_search(text, HMM=False) if _is_content_word(w))


def part_reforms(text: str) -> list[tuple[str, str]]:
    """(reform, wording) of one text, in order."""
    return glossary().find(normalise(text))


# --- analysis --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Analysis:
    """What the engine knows about one pilot's text."""

    ids: frozenset[int]  # word ids of name + goal + measures + scope
    topic: dict[int, int]  # word ids of name + goal + measures → containment weight
    keys: tuple[str, ...]  # key terms and reform wordings, in order of first appearance
    words: dict[str, tuple[str, ...]]  # part → its content words (name, goal, measures)
    reforms: dict[str, tuple[tuple[str, str], ...]]  # part → (reform, wording)
    concepts: frozenset[int]  # concept ids of the reforms of name + goal + measures
    core: frozenset[int]  # concept ids of the core reforms
    topic_weight: int = 0
    # The topic ids grouped by weight, for a containment test by set intersections.
    topic_groups: tuple[tuple[int, frozenset[int]], ...] = ()

    @property
    def core_names(self) -> list[str]:
        names = [r for part in ("name", "goal") for r, _ in self.reforms.get(part, ())]
        return [r for r in dict.fromkeys(names) if concept_id(r) in self.core]

    @property
    def concept_names(self) -> list[str]:
        return list(dict.fromkeys(r for part in PARTS for r, _ in self.reforms.get(part, ())))


def analyse(
    name: str, goal: str = "", measures: str = "", scope: str = "", *, comprehensive: bool = False
) -> Analysis:
    """Cut a pilot's four texts into words and reforms (see the module docstring). The core of
    a comprehensive pilot is what its name names: its goal lists every area it touches."""
    texts = {"name": name, "goal": goal, "measures": measures}
    reforms = {part: tuple(part_reforms(text)) for part, text in texts.items()}
    # jieba cuts a wording by its context (生态环境损害|赔偿磋商): the glossary's wordings
    # found in a part are among its words too.
    words = {
        part: tuple(dict.fromkeys([*part_words(text), *(w for _, w in reforms[part])]))
        for part, text in texts.items()
    }
    scope_words = part_words(scope)
    keyset = KEY_TERMS | set(glossary().wordings)
    keys = [w for part in PARTS for w in words[part] if w in keyset]
    keys += [wording for part in PARTS for _, wording in reforms[part]]
    topic_words = {w for part in PARTS for w in words[part]}
    name_words = set(words["name"])
    topic = {
        term_id(w): KEY_TERM_WEIGHT if w in keyset else NAME_TERM_WEIGHT if w in name_words else 1
        for w in topic_words
    }
    core = {r for r, _ in reforms["name"]}
    if not core and not comprehensive:
        core = {r for r, _ in reforms["goal"]}
    return Analysis(
        ids=frozenset(topic) | frozenset(map(term_id, scope_words)),
        topic=topic,
        keys=tuple(dict.fromkeys(keys)),
        words=words,
        reforms=reforms,
        concepts=frozenset(concept_id(r) for part in PARTS for r, _ in reforms[part]),
        core=frozenset(map(concept_id, core)),
        topic_weight=sum(topic.values()),
        topic_groups=tuple(
            (w, frozenset(t for t, tw in topic.items() if tw == w)) for w in set(topic.values())
        ),
    )


def analyse_pilot(pilot) -> Analysis:
    from pilots.constants import PilotKind

    return analyse(
        pilot.name,
        pilot.goal,
        pilot.measures,
        pilot.scope,
        comprehensive=pilot.kind == PilotKind.COMPREHENSIVE,
    )


# --- similarity of term sets -----------------------------------------------------------------
def dice(a: Analysis, other: Collection[int]) -> float:
    """Dice similarity of a's words and another word-id set."""
    if not a.ids or not other:
        return 0.0
    return 2 * len(a.ids.intersection(other)) / (len(a.ids) + len(other))


def text_similarity(a: Analysis, other: Collection[int]) -> float:
    """The word score: the mean of Dice and the overlap coefficient (shared words over the
    smaller set), so that a lightly edited copy scores high even when the edits add words.
    `other` holds distinct ids (a set, or the sorted array the index stores)."""
    if not a.ids or not other:
        return 0.0
    shared = len(a.ids.intersection(other))
    return (dice(a, other) + shared / min(len(a.ids), len(other))) / 2


def containment(a: Analysis, other: Collection[int]) -> float:
    """How much of a's topic words (name, goal, measures; weighted) the other text has."""
    if not a.topic_weight:
        return 0.0
    return sum(w * len(ids.intersection(other)) for w, ids in a.topic_groups) / a.topic_weight


def similarity(a_text: str, b_text: str) -> float:
    """The word score of two free texts (for callers outside the pilot flow)."""
    return text_similarity(analyse(a_text), analyse(b_text).ids)


def words_of(texts: Iterable[str]) -> set[str]:
    return {w for text in texts for w in part_words(text)}
