"""Benchmark of the R1.3 overlap check (pilots.overlap).

    python bench/overlap_bench.py [--sizes 10000 100000] [--pairs 200] [--baseline-queries 50]

Generates synthetic pilots whose texts are composed like real reform plans (fields, places,
measures, targets, departments), plants paraphrases of existing pilots — the same reform in
other words: named after another of the reform's objects, verbs and nouns swapped for synonyms,
measures reordered and one dropped — in another prefecture and a field drawn at random, so that
neither field nor region can help, and, for each corpus size, prints: index build time,
per-query time of `find_overlaps` for a new proposal, memory (Python heap peak of a query,
process RSS, term-hash cache), the size of the index tables in the database, the recall of the
planted pairs among the flags (at most OVERLAP_MAX_FLAGS) and the precision per flag (a flag is
right when the flagged pilot is of the same reform: the same topic, or a comprehensive pilot
covering it). At the smallest size a brute-force baseline (char-bigram TF-IDF cosine over every
pilot, pure Python) runs on the same data.

Runs on DATABASE_URL; when it is not set, on a temporary SQLite file that is removed at the end.
It refuses a database that already holds pilots unless --force is given, and deletes its own
rows at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from summary import record

ROOT = Path(__file__).resolve().parent.parent

# --- synthetic reform texts ------------------------------------------------------------------
# (field, topic as named in a pilot's title, objects the plan talks about)
TOPICS: list[tuple[str, str, list[str]]] = [
    (
        "property_rights",
        "自然资源统一确权登记",
        ["自然资源统一确权登记", "自然生态空间确权", "不动产登记信息平台", "确权登记成果"],
    ),
    (
        "property_rights",
        "自然资源资产负债表编制",
        ["自然资源资产负债表", "实物量核算账户", "资产价值量核算"],
    ),
    (
        "property_rights",
        "全民所有自然资源资产所有权委托代理",
        ["自然资源资产所有权", "委托代理机制", "资产清查统计"],
    ),
    (
        "property_rights",
        "集体林权制度深化",
        ["集体林权", "林地经营权流转", "林权抵押贷款", "家庭林场"],
    ),
    ("property_rights", "水流产权确权", ["水域岸线", "水流产权", "取水权", "水资源使用权"]),
    (
        "spatial_protection",
        "生态保护红线监管",
        ["生态保护红线", "红线监管平台", "生态保护红线勘界定标"],
    ),
    (
        "spatial_protection",
        "国土空间用途管制",
        ["国土空间用途管制", "建设用地总量", "用途转用审批"],
    ),
    (
        "spatial_protection",
        "自然保护地体系整合优化",
        ["自然保护地", "国家公园", "保护地勘界立标"],
    ),
    ("spatial_protection", "湿地保护修复", ["湿地保护", "湿地名录", "退化湿地修复"]),
    (
        "spatial_protection",
        "海洋生态保护和海岸线管控",
        ["海岸线", "围填海", "海域使用权", "海洋生态修复"],
    ),
    ("spatial_planning", "多规合一", ["多规合一", "空间规划底图", "规划信息平台"]),
    (
        "spatial_planning",
        "三线一单生态环境分区管控",
        ["三线一单", "生态环境分区管控", "环境管控单元", "生态环境准入清单"],
    ),
    (
        "spatial_planning",
        "国土空间总体规划编制",
        ["国土空间总体规划", "城镇开发边界", "永久基本农田"],
    ),
    ("spatial_planning", "村庄规划编制", ["村庄规划", "全域土地综合整治", "乡村空间布局"]),
    (
        "resource_quota",
        "最严格水资源管理",
        ["用水总量", "用水效率", "取水许可", "计划用水"],
    ),
    (
        "resource_quota",
        "能源消费总量和强度双控",
        ["能耗双控", "用能预算", "区域能评", "节能审查"],
    ),
    ("resource_quota", "生活垃圾分类", ["生活垃圾分类", "垃圾分类收运", "再生资源回收"]),
    ("resource_quota", "耕地占补平衡", ["耕地占补平衡", "补充耕地指标", "耕地质量等级"]),
    ("resource_quota", "低效工业用地再开发", ["低效用地", "亩均效益评价", "标准地出让"]),
    (
        "resource_quota",
        "无废城市建设",
        ["无废城市", "固体废物", "危险废物", "一般工业固废"],
    ),
    ("resource_quota", "生产者责任延伸", ["生产者责任延伸", "废旧电池回收", "包装物回收"]),
    (
        "compensation",
        "流域横向生态补偿",
        ["横向生态补偿", "跨界断面水质", "补偿资金", "交接断面"],
    ),
    (
        "compensation",
        "生态产品价值实现机制",
        ["生态产品价值实现", "GEP核算", "两山银行", "生态资源储蓄"],
    ),
    (
        "compensation",
        "农业水价综合改革",
        ["农业水价", "农业用水计量", "精准补贴", "节水奖励"],
    ),
    (
        "compensation",
        "重点生态功能区转移支付",
        ["转移支付", "绿色发展财政奖补", "生态环保财力"],
    ),
    ("compensation", "矿产资源有偿使用", ["矿业权出让", "矿产资源有偿使用", "绿色矿山"]),
    ("compensation", "公益林生态补偿", ["公益林", "补偿标准", "天然林"]),
    (
        "governance",
        "排污许可",
        ["排污许可证", "一证式管理", "固定污染源", "按证监管"],
    ),
    (
        "governance",
        "生态环境损害赔偿",
        ["生态环境损害赔偿", "损害鉴定评估", "赔偿磋商", "修复资金"],
    ),
    ("governance", "河长制湖长制", ["河长制", "湖长制", "河湖健康评价", "巡河"]),
    ("governance", "林长制", ["林长制", "林长责任区", "森林资源保护"]),
    (
        "governance",
        "生态环境执法监管",
        ["环境执法", "非现场执法", "在线监控", "执法正面清单"],
    ),
    (
        "governance",
        "环评审批制度",
        ["环评审批", "区域环评", "环评与排污许可衔接", "告知承诺"],
    ),
    ("governance", "农村生活污水治理", ["农村生活污水", "运维管理", "污水零直排"]),
    (
        "governance",
        "生态环境监测网络",
        ["生态环境监测网络", "监测数据质量", "自动监测站"],
    ),
    (
        "governance",
        "土壤污染防治先行区",
        ["土壤污染", "建设用地土壤", "风险管控", "污染地块"],
    ),
    (
        "market",
        "排污权有偿使用和交易",
        ["排污权", "初始排污权", "排污权交易平台", "排污权抵押贷款"],
    ),
    ("market", "用能权有偿使用和交易", ["用能权", "用能权交易", "能耗指标"]),
    (
        "market",
        "碳排放权交易",
        ["碳排放权", "碳配额", "碳排放数据核查", "碳账户"],
    ),
    ("market", "水权交易", ["水权交易", "取水权", "水权收储"]),
    ("market", "环境污染第三方治理", ["第三方治理", "环保管家", "合同环境服务"]),
    (
        "market",
        "绿色金融改革创新",
        ["绿色金融", "绿色信贷", "绿色保险", "环境信息披露"],
    ),
    ("market", "环境污染责任保险", ["环境污染责任保险", "环责险", "风险评估"]),
    ("market", "林业碳汇交易", ["林业碳汇", "碳汇计量", "碳普惠"]),
    (
        "accountability",
        "领导干部自然资源资产离任审计",
        ["离任审计", "自然资源资产", "审计评价指标"],
    ),
    (
        "accountability",
        "生态文明建设目标评价考核",
        ["目标评价考核", "绿色发展指数", "考核结果运用"],
    ),
    (
        "accountability",
        "生态环境损害责任终身追究",
        ["终身追责", "责任清单", "党政同责"],
    ),
    ("accountability", "生态环境保护督察", ["生态环境保护督察", "督察整改", "问题清单"]),
    ("accountability", "企业环境信用评价", ["环境信用", "信用评价", "联合奖惩"]),
    ("accountability", "环境信息公开", ["环境信息公开", "公众参与", "有奖举报"]),
]
VERBS = ["建立", "完善", "健全", "探索", "推进", "深化", "构建", "推行", "创新", "规范"]
NOUNS = ["制度", "机制", "体系", "管理办法", "工作体系", "长效机制", "政策体系", "实施细则"]
ACTIONS = [
    "核定分配额度并实行动态调整",
    "建设全流程线上交易平台",
    "完善价格形成和调整机制",
    "开展抵押质押融资服务",
    "建立统一的监测核算方法",
    "实行清单化动态管理",
    "推行数字化智慧监管",
    "引入第三方机构开展评估",
    "制定地方技术规范和操作指南",
    "纳入年度目标责任制考核",
    "建立信息公开和社会监督机制",
    "开展确权颁证工作",
    "建立收益分配和反哺机制",
    "设立专项引导资金",
    "探索市场化运作方式",
    "建立跨部门联席会议制度",
    "完善部门协同和数据共享",
    "开展全面调查摸底",
    "建立问题发现和整改销号机制",
    "编制年度实施计划",
    "健全激励约束和容错纠错机制",
    "建立专家咨询论证制度",
    "开展年度绩效评估",
    "将评估结果与资金分配挂钩",
    "强化事中事后监管",
    "建立企业自行监测制度",
    "推行“最多跑一次”审批服务",
    "建立举报奖励制度",
    "建立统一的数据库和一张图",
    "形成标准化工作流程",
    "推动相关地方立法",
    "完善配套政策文件",
    "开展业务培训和宣传引导",
    "建立风险防控和应急处置机制",
    "试行差别化收费政策",
    "探索建立储备和回购制度",
    "实行总量控制和定额管理",
    "建立智能化计量监控系统",
    "构建县乡村三级管理网络",
    "开展示范创建和典型推广",
    "落实属地管理责任",
    "建立季度调度通报制度",
    "建立奖惩结合的考核办法",
    "完善基础台账和档案管理",
    "推进成果在规划和审批中应用",
    "建立多元化投入机制",
    "吸引社会资本参与建设运营",
    "开展区域间交易合作",
    "建立价格评估和指导机制",
    "明确各方权利义务和争议处理程序",
    "建立乡镇（街道）网格化巡查制度",
    "推行电子证照和信用承诺",
    "组织开展专项执法检查",
    "建立“一企一档”管理台账",
    "开展现状评估和潜力测算",
    "明确准入条件和退出机制",
    "建立村级管护队伍",
    "实行按季结算和年度清算",
    "开发移动端应用实现掌上办理",
    "建立与周边地区的协商机制",
    "编制技术导则和评估规范",
    "开展基线调查和本底评估",
    "建设在线监管和预警系统",
    "推行告知承诺和容缺受理",
    "建立重大事项报告制度",
    "开展绩效自评和专家复核",
    "建立政银企对接机制",
    "完善资金使用和绩效管理办法",
    "探索政府购买服务方式",
    "健全村规民约和群众参与机制",
    "建立跨区域联合执法机制",
    "完善统计监测和核算口径",
    "推进成果入库和动态更新",
    "建立正负面清单",
    "开展问卷调查和满意度测评",
    "完善争议调处和投诉处理机制",
]
PURPOSES = [
    "提高资源配置效率",
    "降低企业治污成本",
    "推动主要污染物持续减排",
    "促进生态产品价值转化",
    "改善流域水环境质量",
    "守住生态安全底线",
    "提升基层治理能力",
    "增强企业环境守法意识",
    "形成政府主导、企业主体、社会参与的格局",
    "为全省面上推广积累经验",
    "促进绿色低碳转型",
    "保障群众环境权益",
    "提高审批服务效率",
    "实现资源节约集约利用",
    "提升生态系统质量和稳定性",
    "推动经济社会高质量发展",
    "夯实数据基础",
    "压实各方责任",
    "打通绿水青山向金山银山的转化通道",
    "减少重复检查和企业负担",
    "让保护者受益、使用者付费",
    "防范化解生态环境风险",
    "提升公众满意度和获得感",
    "推动问题整改落到实处",
    "优化营商环境",
    "破解要素制约",
    "增加农民和村集体收入",
    "促进产业结构优化升级",
    "提高执法精准性和有效性",
    "改善人居环境",
    "保障水安全和粮食安全",
    "推动形成绿色生产生活方式",
    "实现生态效益和经济效益双赢",
    "提升治理体系和治理能力现代化水平",
]
UNITS = ["乡镇", "企业", "园区", "村", "街道", "流域", "小区", "工业集聚区", "林场", "水库"]
ACHIEVE = ["全面覆盖", "实现规范运行", "基本建立", "取得明显成效", "走在全省前列"]
DEPTS = [
    "生态环境分局",
    "发展改革局",
    "财政局",
    "自然资源和规划局",
    "水利局",
    "农业农村局",
    "经信局",
    "市场监管局",
    "林业局",
    "住建局",
    "统计局",
    "审计局",
]
SCOPE_TAILS = [
    "全域",
    "重点排污单位",
    "省级以上工业园区",
    "所辖乡镇（街道）",
    "重点流域",
    "规模以上工业企业",
    "重点生态功能区",
    "城区及中心镇",
    "重点用水户",
    "国控、省控断面所在区域",
]
# Synonyms a paraphrase swaps in (each with probability 0.7).
SYNONYMS = [
    ("建立", "构建"),
    ("完善", "健全"),
    ("推进", "推动"),
    ("探索", "尝试"),
    ("开展", "组织"),
    ("实行", "实施"),
    ("制度", "规则"),
    ("机制", "办法"),
    ("平台", "系统"),
    ("提高", "提升"),
    ("促进", "带动"),
    ("实现", "达成"),
    ("全面覆盖", "全覆盖"),
    ("工作", "事项"),
    ("形成", "建成"),
    ("规范", "标准"),
]
NAME_SUFFIXES = ["改革试点", "试点", "改革", "机制创新试点", "先行试点", "改革试点项目"]
COMPREHENSIVE_CORES = [
    "生态文明综合改革试点",
    "生态文明建设先行示范区",
    "绿色发展综合改革试验区",
    "生态文明体制改革综合试点",
    "美丽浙江建设综合试点",
    "生态产品价值实现综合改革试点",
]
PREFECTURES: dict[str, list[str]] = {
    "杭州市": ["西湖区", "萧山区", "余杭区", "富阳区", "临安区", "桐庐县", "淳安县", "建德市"],
    "宁波市": ["鄞州区", "北仑区", "镇海区", "奉化区", "余姚市", "慈溪市", "宁海县", "象山县"],
    "温州市": ["鹿城区", "瓯海区", "瑞安市", "乐清市", "永嘉县", "平阳县", "苍南县", "泰顺县"],
    "嘉兴市": ["南湖区", "秀洲区", "海宁市", "平湖市", "桐乡市", "嘉善县", "海盐县"],
    "湖州市": ["吴兴区", "南浔区", "德清县", "长兴县", "安吉县"],
    "绍兴市": ["越城区", "柯桥区", "上虞区", "诸暨市", "嵊州市", "新昌县"],
    "金华市": ["婺城区", "金东区", "兰溪市", "义乌市", "东阳市", "永康市", "武义县", "浦江县"],
    "衢州市": ["柯城区", "衢江区", "江山市", "常山县", "开化县", "龙游县"],
    "舟山市": ["定海区", "普陀区", "岱山县", "嵊泗县"],
    "台州市": ["椒江区", "黄岩区", "路桥区", "临海市", "温岭市", "玉环市", "天台县", "仙居县"],
    "丽水市": ["莲都区", "龙泉市", "青田县", "缙云县", "遂昌县", "松阳县", "云和县", "庆元县"],
}


class TextGenerator:
    """Plausible pilot texts; one instance per seed gives the same corpus every run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        chars = Counter(
            ch
            for text in [*ACTIONS, *PURPOSES, *(t[1] + "".join(t[2]) for t in TOPICS)]
            for ch in text
            if "\u4e00" <= ch <= "\u9fff"
        )
        self.char_pool = list(chars.elements())

    def _objective(self, objects: list[str]) -> str:
        r = self.rng
        obj = r.choice(objects)
        form = r.randrange(4)
        verb, noun, purpose = r.choice(VERBS), r.choice(NOUNS), r.choice(PURPOSES)
        if form == 0:
            return f"到{r.randint(2026, 2030)}年，{obj}{r.choice(ACHIEVE)}，{purpose}。"
        if form == 1:
            return f"通过{r.randint(1, 3)}年试点，{verb}{obj}{noun}，{purpose}。"
        if form == 2:
            return f"以{obj}为重点，{verb}{r.choice(objects)}{noun}，形成可复制可推广的经验。"
        return f"{self._target(objects)}，{purpose}。"

    def _target(self, objects: list[str]) -> str:
        r = self.rng
        year, n, obj = r.randint(2026, 2030), r.randint(3, 60), r.choice(objects)
        return r.choice(
            [
                f"到{year}年{obj}覆盖率达到{r.randint(60, 100)}%以上",
                f"{year}年底前完成{n}个{r.choice(UNITS)}的{obj}工作",
                f"累计完成交易{n}宗、金额{r.randint(100, 9000)}万元",
                f"培育{n}家{obj}示范{r.choice(UNITS)}",
                f"{obj}办理时限压缩至{r.randint(2, 15)}个工作日",
                f"力争{year}年实现{r.choice(UNITS)}全覆盖",
                f"形成{r.randint(2, 9)}项地方标准或规范性文件",
                f"每年安排资金不少于{r.randint(200, 5000)}万元",
                f"{r.choice(UNITS)}参与率提高到{r.randint(50, 95)}%",
            ]
        )

    def _measure(self, i: int, objects: list[str], place: str) -> str:
        r = self.rng
        form = r.randrange(5)
        task = f"{r.choice(VERBS)}{r.choice(objects)}{r.choice(NOUNS)}"
        if form == 0:
            return f"{i}.由{place}{r.choice(DEPTS)}牵头，{r.choice(DEPTS)}配合，{task}。"
        if form == 1:
            return f"{i}.{task}，{r.choice(ACTIONS)}，{self._target(objects)}。"
        actions = "，".join(r.sample(ACTIONS, 2))
        return f"{i}.{task}，{actions}，{r.choice(PURPOSES)}。"

    def pilot(self, place: str, topic_no: int) -> dict:
        r = self.rng
        field, core, objects = TOPICS[topic_no]
        measures = "".join(self._measure(i, objects, place) for i in range(1, r.randint(3, 6)))
        return {
            "field": field,
            "kind": "single",
            "topics": {topic_no},
            "name": f"{place}{core}{r.choice(NAME_SUFFIXES)}",
            "goal": self._objective(objects) + self._objective(objects),
            "measures": measures,
            "scope": f"{place}{r.choice(SCOPE_TAILS)}",
        }

    def comprehensive(self, place: str) -> dict:
        r = self.rng
        numbers = r.sample(range(len(TOPICS)), r.randint(8, 12))
        topics = [TOPICS[n] for n in numbers]
        parts = [
            f"{r.choice(VERBS)}{core}改革，{r.choice(ACTIONS)}；"
            if r.random() < 0.5
            else f"{r.choice(VERBS)}{r.choice(objects)}{r.choice(NOUNS)}；"
            for _, core, objects in topics
        ]
        return {
            "field": topics[0][0],
            "kind": "comprehensive",
            "topics": set(numbers),
            "name": f"{place}{r.choice(COMPREHENSIVE_CORES)}",
            "goal": f"通过{r.randint(3, 5)}年探索，系统推进生态文明制度创新，{r.choice(PURPOSES)}，"
            f"{r.choice(PURPOSES)}。",
            "measures": "".join(parts),
            "scope": f"{place}全域",
        }

    def paraphrase(self, text: dict, place: str, old_place: str) -> dict:
        """The same reform in other words, in another place: named after another of the
        reform's objects, verbs and nouns swapped for synonyms, measures reordered, one of
        them dropped."""
        r = self.rng
        (topic_no,) = text["topics"]
        _, core, objects = TOPICS[topic_no]
        measures = [m.split(".", 1)[-1] for m in text["measures"].split("。") if m]
        r.shuffle(measures)
        if len(measures) > 2:
            measures.pop()

        def reword(s: str) -> str:
            s = s.replace(old_place, place)
            for word, other in SYNONYMS:
                if r.random() < 0.7:
                    s = s.replace(word, other)
            return s

        return {
            **text,
            "name": f"{place}{r.choice([o for o in objects if o != core] or [core])}"
            f"{r.choice(NAME_SUFFIXES)}",
            "goal": reword(text["goal"]),
            "measures": "".join(f"{i}.{reword(m)}。" for i, m in enumerate(measures, 1)),
            "scope": reword(text["scope"]),
        }

    def mutate(self, text: str, rate: float) -> str:
        """Change `rate` of the characters (at random positions) to other characters."""
        if not text:
            return text
        chars = list(text)
        for pos in self.rng.sample(range(len(chars)), max(1, round(rate * len(chars)))):
            new = chars[pos]
            while new == chars[pos]:
                new = self.rng.choice(self.char_pool)
            chars[pos] = new
        return "".join(chars)


# --- database set-up -------------------------------------------------------------------------
def _setup_django(database_url: str | None) -> str | None:
    """Point Django at the bench database; returns a temporary file to remove, if any."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    temp_file = None
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    elif not os.environ.get("DATABASE_URL"):
        fd, temp_file = tempfile.mkstemp(prefix="overlap-bench-", suffix=".sqlite3")
        os.close(fd)
        os.environ["DATABASE_URL"] = f"sqlite:///{temp_file}"
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log
    return temp_file


class Corpus:
    """Bench rows in the database: organisations, pilots, their regions."""

    CODE_PREFIX = "BENCH-"

    def __init__(self, seed: int) -> None:
        from accounts.constants import OrgKind
        from accounts.models import Organisation

        self.gen = TextGenerator(seed)
        self.rng = random.Random(seed + 1)
        self.count = 0
        self.topics: dict[int, frozenset[int]] = {}
        # bulk_create: bench rows get no history, so that they can be removed without trace.
        (self.dept,) = Organisation.objects.bulk_create(
            [
                Organisation(
                    code="bench-dept",
                    name="基准测试省直部门",
                    short_name="基准部门",
                    kind=OrgKind.DEPARTMENT,
                )
            ]
        )
        prefectures = Organisation.objects.bulk_create(
            [
                Organisation(
                    code=f"bench-p{p_no}",
                    name=f"{pref}（基准测试）",
                    short_name=pref,
                    kind=OrgKind.PREFECTURE,
                )
                for p_no, pref in enumerate(PREFECTURES)
            ]
        )
        counties = Organisation.objects.bulk_create(
            [
                Organisation(
                    code=f"bench-p{p_no}-c{c_no}",
                    name=f"{po.short_name}{county}（基准测试）",
                    short_name=county,
                    kind=OrgKind.COUNTY,
                    parent=po,
                )
                for p_no, po in enumerate(prefectures)
                for c_no, county in enumerate(PREFECTURES[po.short_name])
            ]
        )
        # (place name as written in the texts, organisation id, prefecture id)
        self.places = [(o.short_name, o.pk) for o in [*prefectures, *counties]]
        self.prefecture_of = {o.pk: o.parent_id or o.pk for o in [*prefectures, *counties]}

    def _pilot(self, code: str, text: dict, status: str, origin: str):
        from pilots.models import Pilot

        return Pilot(
            code=code,
            name=text["name"][:200],
            field=text["field"],
            kind=text["kind"],
            origin=origin,
            status=status,
            implementing_body="基准测试实施主体",
            lead_department=self.dept,
            applicant=self.dept,
            goal=text["goal"],
            scope=text["scope"],
            start_date=dt.date(2026, 1, 1),
            end_date=dt.date(2027, 12, 31),
            responsible_body="基准测试责任主体",
            measures=text["measures"],
            expected_outcomes="形成可复制可推广的制度成果。",
        )

    def _save(self, pilots: list, region_ids: list[int]) -> list[int]:
        from pilots.models import Pilot

        created = Pilot.objects.bulk_create(pilots, batch_size=2000)
        through = Pilot.regions.through
        through.objects.bulk_create(
            [
                through(pilot_id=p.pk, organisation_id=r)
                for p, r in zip(created, region_ids, strict=True)
            ],
            batch_size=5000,
        )
        return [p.pk for p in created]

    def grow(self, n: int) -> list[tuple[int, int, dict]]:
        """Add n pilots; returns (pk, region id, text) of the eligible single ones. Remembers
        the reform topics of each (self.topics) to judge the flags."""
        from pilots.constants import Origin, Status

        rng = self.rng
        statuses = [Status.ACTIVE] * 10 + [Status.CLOSED, Status.SUBMITTED, Status.APPROVED]
        statuses += [Status.FILING_SUBMITTED, Status.ENDORSED, Status.EXTENSION_REQUESTED]
        ineligible = [Status.DRAFT, Status.REJECTED, Status.WITHDRAWN, Status.PURGED]
        origins = [Origin.DEPARTMENT] * 10 + [Origin.CALL] * 5 + [Origin.PROVINCIAL] * 3
        origins += [Origin.MINISTRY] * 2
        singles: list[tuple[int, int, dict]] = []
        done = 0
        while done < n:
            size = min(5000, n - done)
            pilots, regions, texts = [], [], []
            for _ in range(size):
                self.count += 1
                place, region = rng.choice(self.places)
                if rng.random() < 0.04:
                    text = self.gen.comprehensive(place)
                else:
                    text = self.gen.pilot(place, rng.randrange(len(TOPICS)))
                status = rng.choice(ineligible) if rng.random() < 0.1 else rng.choice(statuses)
                origin = Origin.CENTRAL if rng.random() < 0.01 else rng.choice(origins)
                code = f"{self.CODE_PREFIX}{self.count:07d}"
                pilots.append(self._pilot(code, text, status, origin))
                regions.append(region)
                texts.append((text, status))
            pks = self._save(pilots, regions)
            for pk, region, (text, status) in zip(pks, regions, texts, strict=True):
                self.topics[pk] = frozenset(text["topics"])
                if text["kind"] == "single" and status not in ineligible:
                    singles.append((pk, region, text))
            done += size
        return singles

    def plant(self, originals: list[tuple[int, int, dict]]) -> list[tuple[int, int]]:
        """Paraphrased drafts of each original, in a place of another prefecture and a field
        drawn at random: (proposal pk, original pk)."""
        from pilots.constants import Origin, ReformField, Status

        names = {pk: name for name, pk in self.places}
        pilots, regions = [], []
        for i, (pk, region, text) in enumerate(originals):
            place, other = self.rng.choice(
                [p for p in self.places if self.prefecture_of[p[1]] != self.prefecture_of[region]]
            )
            changed = self.gen.paraphrase(text, place, names[region])
            changed["field"] = self.rng.choice(ReformField.values)
            pilots.append(
                self._pilot(f"{self.CODE_PREFIX}N{i:06d}", changed, Status.DRAFT, Origin.CALL)
            )
            regions.append(other)
            self.topics[pk] = frozenset(text["topics"])
        pks = self._save(pilots, regions)
        return list(zip(pks, [o[0] for o in originals], strict=True))

    @staticmethod
    def remove() -> None:
        """Delete every bench row (raw deletes: the rows have no history)."""
        from django.db import connection

        from accounts.models import Organisation
        from pilots.models import OverlapFlag, Pilot
        from pilots.models_overlap import (
            OverlapBand,
            OverlapConcept,
            OverlapFingerprint,
            OverlapTerm,
        )

        qn = connection.ops.quote_name
        pilots = qn(Pilot._meta.db_table)
        bench = f"SELECT {qn('id')} FROM {pilots} WHERE {qn('code')} LIKE %s"
        with connection.cursor() as cur:
            for model, column in (
                (OverlapBand, "pilot_id"),
                (OverlapTerm, "pilot_id"),
                (OverlapConcept, "pilot_id"),
                (OverlapFingerprint, "pilot_id"),
                (OverlapFlag, "pilot_id"),
                (OverlapFlag, "other_id"),
                (Pilot.regions.through, "pilot_id"),
                (Pilot.participating_units.through, "pilot_id"),
            ):
                table = qn(model._meta.db_table)
                cur.execute(f"DELETE FROM {table} WHERE {qn(column)} IN ({bench})", ["BENCH-%"])
            if connection.vendor == "postgresql" and connection.get_autocommit():
                # The index tables have no index on pilot_id (their keys lead): without a
                # vacuum every deleted pilot's foreign-key check would scan their dead rows.
                for model in (OverlapBand, OverlapTerm, OverlapConcept):
                    cur.execute(f"VACUUM {qn(model._meta.db_table)}")
            cur.execute(f"DELETE FROM {pilots} WHERE {qn('code')} LIKE %s", ["BENCH-%"])
            orgs = qn(Organisation._meta.db_table)
            for pattern in ("bench-p%-c%", "bench-p%", "bench-dept"):
                cur.execute(f"DELETE FROM {orgs} WHERE {qn('code')} LIKE %s", [pattern])


# --- measurements ----------------------------------------------------------------------------
def _rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc."""
    values = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, amount, _ = line.split()
                values[key] = int(amount) / 1024
    except OSError:
        return float("nan"), float("nan")
    return values.get("VmRSS:", float("nan")), values.get("VmHWM:", float("nan"))


def _table_sizes_mb() -> dict[str, float]:
    from django.db import connection

    from pilots.models import Pilot
    from pilots.models_overlap import OverlapBand, OverlapConcept, OverlapFingerprint, OverlapTerm

    tables = {
        "fingerprint": OverlapFingerprint._meta.db_table,
        "band": OverlapBand._meta.db_table,
        "term": OverlapTerm._meta.db_table,
        "concept": OverlapConcept._meta.db_table,
        "pilot": Pilot._meta.db_table,
    }
    sizes = {}
    with connection.cursor() as cur:
        for label, table in tables.items():
            if connection.vendor == "postgresql":
                cur.execute("SELECT pg_total_relation_size(%s)", [table])
                sizes[label] = cur.fetchone()[0] / 2**20
            else:
                try:  # table plus its indexes (dbstat names automatic indexes after the table)
                    cur.execute(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name LIKE %s",
                        [table, f"sqlite_autoindex_{table}_%"],
                    )
                    sizes[label] = (cur.fetchone()[0] or 0) / 2**20
                except Exception:  # noqa: BLE001 - dbstat not compiled in
                    sizes[label] = float("nan")
    return sizes


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def measure_engine(pairs: list[tuple[int, int]], topics: dict[int, frozenset[int]]) -> dict:
    from pilots import overlap
    from pilots.models import Pilot

    proposals = {p.pk: p for p in Pilot.objects.filter(pk__in=[a for a, _ in pairs])}
    overlap.term_id.cache_clear()  # a fresh web process: nothing cached
    gc.collect()
    times, found, top1, scores, returned, right = [], 0, 0, [], [], 0
    for proposal_pk, original_pk in pairs:
        proposal = proposals[proposal_pk]
        t0 = time.perf_counter()
        result = overlap.find_overlaps(proposal)
        times.append((time.perf_counter() - t0) * 1000)
        ids = [c.pilot_id for c in result]
        returned.append(len(ids))
        right += sum(bool(topics[original_pk] & topics.get(pk, frozenset())) for pk in ids)
        if original_pk in ids:
            found += 1
            scores.append(result[ids.index(original_pk)].score)
            top1 += ids[0] == original_pk
    rss, hwm = _rss_mb()
    # Python heap of one query, traced separately (tracing slows the code down).
    tracemalloc.start()
    peaks = []
    for proposal_pk, _ in pairs[:20]:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        overlap.find_overlaps(proposals[proposal_pk])
        peaks.append((tracemalloc.get_traced_memory()[1] - base) / 2**20)
    tracemalloc.stop()
    cache = overlap.term_id.cache_info()
    return {
        "q_med": statistics.median(times),
        "q_p95": _percentile(times, 0.95),
        "q_max": max(times),
        "recall": found / len(pairs),
        "precision": right / sum(returned) if sum(returned) else float("nan"),
        "top1": top1 / len(pairs),
        "score": statistics.mean(scores) if scores else float("nan"),
        "returned": statistics.mean(returned),
        "py_peak": max(peaks),
        "rss": rss,
        "hwm": hwm,
        "cache_entries": cache.currsize,
    }


def _bigram_counts(text: str) -> Counter:
    import re
    import unicodedata

    counts: Counter = Counter()
    for run in re.findall(r"[\u4e00-\u9fff]+", unicodedata.normalize("NFKC", text)):
        counts.update(run[i : i + 2] for i in range(len(run) - 1))
    return counts


def measure_baseline(pairs: list[tuple[int, int]], n_queries: int) -> dict:
    """Brute force: TF-IDF over raw character bigrams, cosine against every eligible pilot."""
    from pilots.models import Pilot
    from pilots.overlap import ELIGIBLE_STATES

    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    docs: list[tuple[int, Counter]] = []
    df: Counter = Counter()
    rows = Pilot.objects.filter(status__in=ELIGIBLE_STATES).values_list(
        "pk", "name", "goal", "measures", "scope"
    )
    for pk, *texts in rows.iterator(chunk_size=2000):
        counts = _bigram_counts("\n".join(texts))
        df.update(counts.keys())
        docs.append((pk, counts))
    n = len(docs)
    idf = {g: math.log(n / c) for g, c in df.items()}

    def vector(counts: Counter) -> dict[str, float]:
        vec = {g: (1 + math.log(c)) * idf.get(g, 0.0) for g, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        return {g: w / norm for g, w in vec.items() if w}

    vectors = [(pk, vector(c)) for pk, c in docs]
    del docs
    build = time.perf_counter() - t0
    memory = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    proposals = {
        pk: "\n".join(texts)
        for pk, *texts in Pilot.objects.filter(pk__in=[a for a, _ in pairs]).values_list(
            "pk", "name", "goal", "measures", "scope"
        )
    }
    times, found = [], 0
    for proposal_pk, original_pk in pairs[:n_queries]:
        t0 = time.perf_counter()
        q = vector(_bigram_counts(proposals[proposal_pk]))
        scored = []
        for pk, vec in vectors:
            if len(vec) < len(q):
                s = sum(w * q.get(g, 0.0) for g, w in vec.items())
            else:
                s = sum(w * vec.get(g, 0.0) for g, w in q.items())
            scored.append((s, pk))
        best = [pk for _, pk in sorted(scored, reverse=True)[:5]]
        times.append((time.perf_counter() - t0) * 1000)
        found += original_pk in best
    return {
        "build": build,
        "memory": memory,
        "q_med": statistics.median(times),
        "q_p95": _percentile(times, 0.95),
        "recall": found / min(n_queries, len(pairs)),
        "queries": min(n_queries, len(pairs)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--pairs", type=int, default=200, help="planted paraphrase pairs")
    parser.add_argument("--baseline-queries", type=int, default=50)
    parser.add_argument("--baseline-max", type=int, default=10_000, help="largest size for it")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--database-url", default=None, help="default: $DATABASE_URL or temp")
    parser.add_argument("--force", action="store_true", help="run on a database with pilots")
    parser.add_argument("--keep", action="store_true", help="leave the bench rows in place")
    args = parser.parse_args(argv)

    temp_file = _setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from pilots import overlap
    from pilots.models import Pilot

    rows: list[dict] = []
    baseline = None
    corpus = None
    try:
        call_command("migrate", verbosity=0)
        Corpus.remove()  # rows left by an interrupted run
        if Pilot.objects.exists() and not args.force:
            print("The database already holds pilots; use --force to benchmark on it anyway.")
            return 2
        print(
            f"database: {connection.vendor} {connection.settings_dict['NAME']}; "
            f"K={overlap.SIG_BINS} bins, {overlap.BANDS} bands × {overlap.ROWS} rows; "
            f"{args.pairs} planted paraphrases in another prefecture and a random field",
            flush=True,
        )
        corpus = Corpus(args.seed)
        pairs: list[tuple[int, int]] = []
        for size in sorted(args.sizes):
            t0 = time.perf_counter()
            singles = corpus.grow(size - corpus.count)
            if not pairs:
                originals = corpus.rng.sample(singles, args.pairs)
                pairs = corpus.plant(originals)
            del singles
            generate = time.perf_counter() - t0
            gc.collect()
            t0 = time.perf_counter()
            counts = overlap.reindex_all()
            build = time.perf_counter() - t0
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:  # what autovacuum would soon do
                    cur.execute("VACUUM ANALYZE")
            row = {"size": size, "generate": generate, "build": build, **counts}
            row.update(measure_engine(pairs, corpus.topics))
            row.update({f"db_{k}": v for k, v in _table_sizes_mb().items()})
            rows.append(row)
            print(
                f"  {size:>7,} pilots: generated in {generate:.1f} s, indexed in {build:.1f} s, "
                f"query median {row['q_med']:.1f} ms, recall {row['recall']:.3f}, "
                f"precision per flag {row['precision']:.3f}",
                flush=True,
            )
            if size <= args.baseline_max and baseline is None:
                baseline = {"size": size, **measure_baseline(pairs, args.baseline_queries)}
        report(rows, baseline, args)
    finally:
        if corpus is not None and not args.keep and temp_file is None:
            print("removing the bench rows …", flush=True)
            corpus.remove()
        connection.close()
        if temp_file:
            Path(temp_file).unlink(missing_ok=True)
    return 0


def report(rows: list[dict], baseline: dict | None, args) -> None:
    from django.db import connection

    from pilots import overlap

    print()
    print(
        f"R1.3 overlap check (pilots.overlap) on {connection.vendor}: "
        f"MinHash K={overlap.SIG_BINS}, LSH {overlap.BANDS}×{overlap.ROWS} in the database;\n"
        f"{args.pairs} planted paraphrases (other place, random field); "
        "times are per query for one new proposal"
    )
    header = (
        f"{'pilots':>8} {'build s':>8} {'q med ms':>9} {'q p95 ms':>9} {'q max ms':>9} "
        f"{'recall':>7} {'prec.':>6} {'top-1':>6} {'score':>6} {'flags/q':>7} {'query MB':>8} "
        f"{'RSS MB':>7} {'index DB MB':>11} {'index rows':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        index_mb = r["db_fingerprint"] + r["db_band"] + r["db_term"] + r["db_concept"]
        print(
            f"{r['size']:>8,} {r['build']:>8.1f} {r['q_med']:>9.1f} {r['q_p95']:>9.1f} "
            f"{r['q_max']:>9.1f} {r['recall']:>7.3f} {r['precision']:>6.3f} {r['top1']:>6.3f} "
            f"{r['score']:>6.2f} "
            f"{r['returned']:>7.1f} {r['py_peak']:>8.2f} {r['rss']:>7.0f} {index_mb:>11.1f} "
            f"{r['bands'] + r['terms'] + r['concepts'] + r['pilots']:>11,}"
        )
    print(
        "  recall: planted originals among the flags (at most OVERLAP_MAX_FLAGS) of their "
        "paraphrase; prec.: flags of the same reform over all flags;\n  top-1: ranked first; "
        "score: mean score of the found original; flags/q: flags per query;\n  query MB: Python "
        "heap a query allocates (tracemalloc peak) — no index is held in memory, only a term-id "
        "cache\n  (≤ 65,536 entries); RSS: the whole bench process, data generation included."
    )
    for r in rows:
        print(
            f"  {r['size']:,}: fingerprint {r['db_fingerprint']:.1f} MB ({r['pilots']:,} rows), "
            f"bands {r['db_band']:.1f} MB ({r['bands']:,}), terms {r['db_term']:.1f} MB "
            f"({r['terms']:,}), reforms {r['db_concept']:.1f} MB ({r['concepts']:,}); "
            f"pilot table {r['db_pilot']:.1f} MB; term-id cache "
            f"{r['cache_entries']:,}; data generated in {r['generate']:.1f} s"
        )
    if baseline:
        print()
        print(
            f"Baseline at {baseline['size']:,} pilots: brute-force TF-IDF cosine over raw "
            f"character bigrams against every eligible pilot (pure Python, "
            f"{baseline['queries']} queries)"
        )
        print(
            f"  load + vectorise {baseline['build']:.1f} s, vectors held in memory "
            f"{baseline['memory']:.0f} MB, query median {baseline['q_med']:.0f} ms "
            f"(p95 {baseline['q_p95']:.0f} ms), recall@5 {baseline['recall']:.3f}"
        )
    print()
    targets = {10_000: (50.0, 300.0), 100_000: (500.0, None)}
    for r in rows:
        time_limit, memory_limit = targets.get(r["size"], (None, None))
        if time_limit is not None:
            checks = [
                f"query median ≤ {time_limit:.0f} ms: {_ok(r['q_med'] <= time_limit)}",
                f"recall ≥ 0.9: {_ok(r['recall'] >= 0.9)}",
                f"precision per flag ≥ 0.8: {_ok(r['precision'] >= 0.8)}",
            ]
            if memory_limit:
                checks.append(
                    f"process peak RSS ≤ {memory_limit:.0f} MB: {_ok(r['hwm'] <= memory_limit)}"
                )
            print(f"targets at {r['size']:,}: " + "; ".join(checks))
        _record(r, baseline, time_limit, memory_limit)


def _record(r: dict, baseline: dict | None, time_limit, memory_limit) -> None:
    """One size's figures for make bench's table (targets only at the sizes that have them)."""
    from django.db import connection

    group = f"重复检查 R1.3（{r['size']:,} 个试点，{connection.vendor}）"
    brute = baseline if baseline and baseline["size"] == r["size"] else None
    target = f"≤ {time_limit:.0f} ms" if time_limit else ""
    if brute:
        target += ("，且" if target else "") + "快于对照"
    record(
        group,
        "每次查询 中位数",
        r["q_med"],
        "ms",
        comparison=brute["q_med"] if brute else None,
        against="逐个比较全部试点（TF-IDF 余弦）" if brute else "",
        limit=1.0 if brute else time_limit,
        target=target,
        detail=f"p95 {r['q_p95']:.1f} ms；索引建立 {r['build']:.0f} s"
        + (f"；对照在内存中保存 {brute['memory']:.0f} MB 向量" if brute else ""),
        valid=time_limit is None or r["q_med"] <= time_limit,
    )
    record(
        group,
        "召回率（换一种说法的同一改革，至多5条提示）",
        r["recall"],
        "",
        comparison=brute["recall"] if brute else None,
        against="逐个比较全部试点（前5名）" if brute else "",
        minimum=0.9,
        target="≥ 0.9",
        detail=f"首位命中 {r['top1']:.3f}",
    )
    record(
        group,
        "每条提示的准确率",
        r["precision"],
        "",
        minimum=0.8,
        target="≥ 0.8",
        detail=f"每次查询 {r['returned']:.1f} 条提示",
    )
    if memory_limit:
        record(
            group,
            "进程内存峰值",
            r["hwm"],
            "MB",
            limit=memory_limit,
            target=f"≤ {memory_limit:.0f} MB",
            detail="含数据生成",
        )


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
