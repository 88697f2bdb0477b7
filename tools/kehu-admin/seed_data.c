/* Demo-data generator for `kehu-admin seed` (see seed_data.h). The word
 * lists that shape names — cities and their regions, brand stems, business
 * kinds, legal forms, Latin words — are gen.sql's, in gen.sql's order and
 * with its proportions, so that a search term matches the same share of
 * kehu's customers as of the peer's. Everything else (addresses, contacts,
 * follow-ups) is ours. */
#include "seed_data.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

#define KEHU_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- tables */

typedef struct {
  const char *name;
  const char *region;       /* gen.sql's region for the city */
  const char *districts[2]; /* for addresses; towns where a city has no districts */
} kehu_seed_city;

static const kehu_seed_city kehu_seed_cities[40] = {
  {"北京", "华北", {"海淀区", "朝阳区"}},     {"上海", "华东", {"浦东新区", "徐汇区"}},
  {"广州", "华南", {"天河区", "黄埔区"}},     {"深圳", "华南", {"南山区", "福田区"}},
  {"杭州", "华东", {"西湖区", "滨江区"}},     {"南京", "华东", {"鼓楼区", "江宁区"}},
  {"苏州", "华东", {"姑苏区", "吴中区"}},     {"成都", "西南", {"武侯区", "锦江区"}},
  {"重庆", "西南", {"渝北区", "江北区"}},     {"武汉", "华中", {"洪山区", "江汉区"}},
  {"西安", "西北", {"雁塔区", "未央区"}},     {"天津", "华北", {"滨海新区", "南开区"}},
  {"青岛", "华东", {"市南区", "崂山区"}},     {"厦门", "华东", {"思明区", "湖里区"}},
  {"宁波", "华东", {"鄞州区", "海曙区"}},     {"无锡", "华东", {"滨湖区", "新吴区"}},
  {"长沙", "华中", {"岳麓区", "雨花区"}},     {"郑州", "华中", {"金水区", "二七区"}},
  {"济南", "华东", {"历下区", "槐荫区"}},     {"合肥", "华东", {"蜀山区", "包河区"}},
  {"福州", "华东", {"鼓楼区", "仓山区"}},     {"东莞", "华南", {"南城街道", "长安镇"}},
  {"佛山", "华南", {"南海区", "顺德区"}},     {"大连", "东北", {"中山区", "甘井子区"}},
  {"沈阳", "东北", {"和平区", "浑南区"}},     {"昆明", "西南", {"五华区", "盘龙区"}},
  {"南昌", "华中", {"红谷滩区", "西湖区"}},   {"石家庄", "华北", {"长安区", "裕华区"}},
  {"哈尔滨", "东北", {"南岗区", "道里区"}},   {"长春", "东北", {"朝阳区", "南关区"}},
  {"太原", "华北", {"小店区", "迎泽区"}},     {"贵阳", "西南", {"观山湖区", "云岩区"}},
  {"南宁", "华南", {"青秀区", "西乡塘区"}},   {"温州", "华东", {"鹿城区", "瓯海区"}},
  {"珠海", "华南", {"香洲区", "金湾区"}},     {"中山", "华南", {"东区街道", "小榄镇"}},
  {"常州", "华东", {"武进区", "新北区"}},     {"烟台", "华东", {"芝罘区", "莱山区"}},
  {"泉州", "华东", {"丰泽区", "鲤城区"}},     {"绍兴", "华东", {"越城区", "柯桥区"}},
};

typedef struct {
  const char *zh;
  const char *pinyin; /* for mail domains */
} kehu_seed_stem;

static const kehu_seed_stem kehu_seed_stems[KEHU_SEED_BRAND_STEM_COUNT] = {
  {"星河", "xinghe"},   {"华东", "huadong"},  {"宏达", "hongda"},    {"金鼎", "jinding"},
  {"天成", "tiancheng"}, {"恒信", "hengxin"}, {"瑞丰", "ruifeng"},   {"博远", "boyuan"},
  {"鑫源", "xinyuan"},  {"嘉禾", "jiahe"},    {"汇通", "huitong"},   {"安泰", "antai"},
  {"凯盛", "kaisheng"}, {"中联", "zhonglian"}, {"永利", "yongli"},   {"明德", "mingde"},
  {"光华", "guanghua"}, {"云创", "yunchuang"}, {"智联", "zhilian"},  {"诚信", "chengxin"},
  {"富强", "fuqiang"},  {"广汇", "guanghui"}, {"长青", "changqing"}, {"东方", "dongfang"},
  {"万和", "wanhe"},    {"顺达", "shunda"},   {"高新", "gaoxin"},    {"兴邦", "xingbang"},
  {"立新", "lixin"},    {"世纪", "shiji"},    {"宇航", "yuhang"},    {"晨光", "chenguang"},
  {"启明", "qiming"},   {"祥瑞", "xiangrui"}, {"辉腾", "huiteng"},   {"润泽", "runze"},
  {"蓝海", "lanhai"},   {"新星", "xinxing"},  {"海纳", "haina"},     {"天元", "tianyuan"},
};

typedef struct {
  const char *zh;        /* as it appears in the name */
  const char *short_zh;  /* in the short name: 星河信息 */
  const char *industry;  /* the label a CRM's industry field would carry */
  const char *slug;      /* in mail domains: xinghe-tech.com.cn */
  const char *shop_form; /* organisational form of a sole trader (个体工商户) */
} kehu_seed_kind;

/* gen.sql's 24 kinds, reordered so that the first 20 are its `lind` list:
 * mixed names draw only from those, Chinese names from all 24. */
#define KEHU_SEED_MIXED_KINDS 20
static const kehu_seed_kind kehu_seed_kinds[24] = {
  {"科技", "科技", "科技服务", "tech", "工作室"},
  {"制造", "制造", "制造业", "mfg", "加工厂"},
  {"贸易", "贸易", "批发零售", "trade", "商行"},
  {"信息技术", "信息", "信息技术", "tech", "工作室"},
  {"电子", "电子", "电子电器", "elec", "经营部"},
  {"机械", "机械", "机械设备", "machinery", "经营部"},
  {"物流", "物流", "交通物流", "logistics", "服务部"},
  {"医疗器械", "医疗", "医疗器械", "medical", "经营部"},
  {"生物科技", "生物", "生物医药", "bio", "工作室"},
  {"新材料", "材料", "新材料", "materials", "经营部"},
  {"食品", "食品", "食品饮料", "food", "商行"},
  {"建筑工程", "建筑", "建筑工程", "construction", "服务部"},
  {"环保科技", "环保", "节能环保", "eco", "工作室"},
  {"网络科技", "网络", "互联网", "net", "工作室"},
  {"软件", "软件", "软件", "soft", "工作室"},
  {"咨询", "咨询", "咨询服务", "consulting", "工作室"},
  {"文化传媒", "传媒", "文化传媒", "media", "工作室"},
  {"教育科技", "教育", "教育培训", "edu", "工作室"},
  {"汽车配件", "汽配", "汽车及零部件", "auto", "门市部"},
  {"化工", "化工", "化工", "chem", "经营部"},
  {"实业", "实业", "综合", "group", "经营部"},
  {"投资", "投资", "金融投资", "capital", "工作室"},
  {"纺织", "纺织", "纺织服装", "textile", "加工厂"},
  {"农业发展", "农业", "农林牧渔", "agri", "经营部"},
};

/* Employee bands, smallest first; min_band in the tables below refers to them. */
static const struct {
  const char *text;
  unsigned weight;
} kehu_seed_sizes[] = {
  {"1-50", 35}, {"50-100", 25}, {"100-500", 25}, {"500-1000", 8}, {"1000+", 7},
};

/* gen.sql's legal forms: its 10-entry array repeats 有限公司 six times. A
 * 股份 or 集团 company is never a ten-person shop. */
static const struct {
  const char *text;
  unsigned weight;
  unsigned min_band;
} kehu_seed_legal_forms[] = {
  {"有限公司", 6, 0}, {"股份有限公司", 2, 2}, {"集团有限公司", 1, 3}, {"有限责任公司", 1, 0},
};

static const char *const kehu_seed_latin_prefixes[30] = {
  "Acme",   "Apex",    "Atlas",   "Aurora",  "Blue",    "Bright",   "Cedar",  "Delta",
  "Eagle",  "Evergreen", "Falcon", "Global", "Golden",  "Harbor",   "Horizon", "Ivory",
  "Jade",   "Keystone", "Lotus",  "Meridian", "Nova",   "Orion",    "Pacific", "Phoenix",
  "Pioneer", "Silver", "Summit",  "Titan",   "Unity",   "Vertex",
};

/* gen.sql's `lstem`; the industry is ours (gen.sql pairs them with `lind`
 * by position, which makes "Foods" an electronics company). */
static const struct {
  const char *en;
  const char *industry;
} kehu_seed_latin_stems[20] = {
  {"Technologies", "科技服务"}, {"Systems", "信息技术"},     {"Trading", "批发零售"},
  {"Logistics", "交通物流"},    {"Foods", "食品饮料"},       {"Robotics", "机械设备"},
  {"Analytics", "软件"},        {"Manufacturing", "制造业"}, {"Electronics", "电子电器"},
  {"Software", "软件"},         {"Medical", "医疗器械"},     {"Materials", "新材料"},
  {"Consulting", "咨询服务"},   {"Networks", "互联网"},      {"Energy", "能源"},
  {"Instruments", "仪器仪表"},  {"Textiles", "纺织服装"},    {"Automotive", "汽车及零部件"},
  {"Biotech", "生物医药"},      {"Solutions", "信息技术"},
};

static const struct {
  const char *text;
  const char *tld;
} kehu_seed_latin_suffixes[8] = {
  {"Ltd.", ".com"}, {"Co., Ltd.", ".com.cn"}, {"Inc.", ".com"},   {"GmbH", ".de"},
  {"Pte. Ltd.", ".com.sg"}, {"LLC", ".com"}, {"Limited", ".com.hk"}, {"Corp.", ".com"},
};

typedef struct {
  const char *zh;
  const char *pinyin;
} kehu_seed_word;

/* gen.sql's surnames; the first ten are the most common and drawn more often. */
static const kehu_seed_word kehu_seed_surnames[32] = {
  {"王", "wang"}, {"李", "li"},    {"张", "zhang"}, {"刘", "liu"},   {"陈", "chen"},
  {"杨", "yang"}, {"黄", "huang"}, {"赵", "zhao"},  {"吴", "wu"},    {"周", "zhou"},
  {"徐", "xu"},   {"孙", "sun"},   {"马", "ma"},    {"朱", "zhu"},   {"胡", "hu"},
  {"郭", "guo"},  {"何", "he"},    {"高", "gao"},   {"林", "lin"},   {"罗", "luo"},
  {"郑", "zheng"}, {"梁", "liang"}, {"谢", "xie"},  {"宋", "song"},  {"唐", "tang"},
  {"许", "xu"},   {"韩", "han"},   {"冯", "feng"},  {"邓", "deng"},  {"曹", "cao"},
  {"欧阳", "ouyang"}, {"司马", "sima"},
};

static const kehu_seed_word kehu_seed_given_single[] = {
  {"伟", "wei"}, {"芳", "fang"}, {"娜", "na"},    {"敏", "min"},  {"静", "jing"},
  {"丽", "li"},  {"强", "qiang"}, {"磊", "lei"},  {"军", "jun"},  {"洋", "yang"},
  {"勇", "yong"}, {"艳", "yan"}, {"杰", "jie"},   {"涛", "tao"},  {"明", "ming"},
  {"超", "chao"}, {"华", "hua"}, {"平", "ping"},  {"刚", "gang"}, {"文", "wen"},
  {"婷", "ting"}, {"鹏", "peng"}, {"辉", "hui"},  {"斌", "bin"},  {"宇", "yu"},
  {"琳", "lin"}, {"颖", "ying"}, {"雪", "xue"},   {"浩", "hao"},  {"凯", "kai"},
};

static const kehu_seed_word kehu_seed_given_double[] = {
  {"秀英", "xiuying"}, {"桂英", "guiying"}, {"建华", "jianhua"}, {"玉兰", "yulan"},
  {"志强", "zhiqiang"}, {"晓东", "xiaodong"}, {"海燕", "haiyan"}, {"子涵", "zihan"},
  {"浩然", "haoran"},  {"俊杰", "junjie"},  {"欣怡", "xinyi"},   {"思远", "siyuan"},
  {"嘉怡", "jiayi"},   {"宇轩", "yuxuan"},  {"梓萱", "zixuan"},  {"文博", "wenbo"},
  {"丽娟", "lijuan"},  {"建国", "jianguo"}, {"国强", "guoqiang"}, {"春梅", "chunmei"},
  {"晓明", "xiaoming"}, {"志伟", "zhiwei"}, {"佳琪", "jiaqi"},   {"雨桐", "yutong"},
  {"一鸣", "yiming"},  {"天宇", "tianyu"},  {"晓燕", "xiaoyan"}, {"明轩", "mingxuan"},
};

/* gen.sql's Latin person names. */
static const char *const kehu_seed_latin_first[16] = {
  "James", "Mary", "John", "Linda", "David", "Susan", "Michael", "Karen",
  "Peter", "Anna", "Thomas", "Laura", "Kevin", "Emma", "Daniel", "Sophie",
};
static const char *const kehu_seed_latin_last[14] = {
  "Smith", "Muller", "Brown", "Tanaka", "Garcia", "Wilson", "Schmidt",
  "Lee",   "Martin", "Clark", "Wong",   "Chan",   "Kim",    "Taylor",
};

/* Contact titles; a contact 0 comes from the first KEHU_SEED_LEAD_TITLES
 * (the person a rep deals with first), a contact 1 from any. */
#define KEHU_SEED_LEAD_TITLES 6
static const struct {
  const char *zh;
  const char *en;
  int decision_maker;
} kehu_seed_titles[] = {
  {"总经理", "General Manager", 1},   {"采购经理", "Purchasing Manager", 1},
  {"副总经理", "Deputy General Manager", 1}, {"技术总监", "Technical Director", 1},
  {"董事长", "Chairman", 1},          {"采购专员", "Purchasing Specialist", 0},
  {"财务经理", "Finance Manager", 0}, {"行政主管", "Office Manager", 0},
  {"项目经理", "Project Manager", 0}, {"IT经理", "IT Manager", 0},
  {"销售总监", "Sales Director", 0},  {"运营总监", "Operations Director", 0},
};

static const char *const kehu_seed_roads[] = {
  "人民路", "中山路", "解放路", "建设路", "科技路", "创业路", "长江路", "黄河路",
  "新华路", "和平路", "文化路", "学府路", "滨江大道", "高新大道", "迎宾大道", "工业大道",
};

static const struct {
  const char *text;
  unsigned weight;
} kehu_seed_stages[] = {
  {"potential", 35}, {"intent", 25}, {"closed", 30}, {"lost", 10},
};

/* The first follow-up is the first contact, so how it happened follows the source. */
typedef struct {
  const char *method;
  const char *text; /* "{c}" stands for the contact's name */
} kehu_seed_note;

static const struct {
  const char *source;
  unsigned weight;
  kehu_seed_note first[2];
} kehu_seed_sources[] = {
  {"website", 30,
   {{"email", "客户在官网留言咨询产品报价，已邮件回复产品手册和价格区间。"},
    {"im", "官网在线客服转来的线索，已加{c}微信，发送了产品介绍和案例。"}}},
  {"exhibition", 20,
   {{"meeting", "在展会上与{c}交换名片，对方对我们的方案很感兴趣，约定会后详谈。"},
    {"meeting", "展会现场演示了产品，客户留下联系方式，希望尽快安排技术交流。"}}},
  {"referral", 25,
   {{"phone", "经老客户介绍认识{c}，电话初步沟通了需求，对方今年有采购计划。"},
    {"visit", "朋友转介绍，上门拜访了{c}，了解了对方现有系统和痛点。"}}},
  {"phone", 15,
   {{"phone", "电话陌拜，{c}表示目前有相关需求，同意接收资料。"},
    {"phone", "客户来电咨询价格和交付周期，已记录需求，约下周回访。"}}},
  {"other", 10,
   {{"visit", "行业交流会上认识{c}，随后上门拜访，初步了解需求。"},
    {"other", "通过招标信息获得线索，已联系{c}确认项目情况。"}}},
};

static const kehu_seed_note kehu_seed_progress_notes[] = {
  {"phone", "电话沟通了报价，{c}对价格有顾虑，约下周再联系。"},
  {"visit", "上门拜访，演示了系统，对方技术总监比较满意，需要内部讨论。"},
  {"im", "微信跟进，已发送产品手册和三家同类客户的成功案例。"},
  {"meeting", "与{c}开会讨论实施方案，对方提出了数据迁移和培训的要求。"},
  {"email", "邮件发送了修订后的报价单和合同草案，等待对方反馈。"},
  {"visit", "陪同解决方案工程师上门做需求调研，整理了需求清单。"},
};

/* Latin companies' reps sometimes write in English. */
static const kehu_seed_note kehu_seed_progress_notes_en[] = {
  {"email", "Email: sent revised quotation, waiting for PO."},
  {"phone", "Call with purchasing: budget approved for Q3."},
  {"meeting", "Meeting with {c}: reviewed the rollout plan and training schedule."},
};

/* The latest follow-up tells where the customer stands, so it follows the
 * stage; indexed like kehu_seed_stages. */
static const kehu_seed_note kehu_seed_latest_notes[4][3] = {
  {{"phone", "电话回访，{c}说预算还没批下来，建议下个季度再跟进。"},
   {"im", "微信发了新品资料，客户暂未回复，下周再联系。"},
   {"email", "发送了行业解决方案白皮书，邀请客户参加下月的产品沙龙。"}},
  {{"visit", "上门拜访{c}，确认了需求清单，准备出正式报价。"},
   {"email", "已发送正式报价和技术方案，客户要求在月底前答复。"},
   {"meeting", "约了下周三下午在对方公司开会，带上解决方案工程师。"}},
  {{"other", "合同已盖章回寄，安排实施团队下周进场。"},
   {"phone", "回款提醒：第二期款项已到账，客户对交付进度满意。"},
   {"visit", "售后回访，{c}反馈系统运行稳定，有意向采购二期。"}},
  {{"phone", "客户选择了竞争对手的方案，主要原因是价格，保持联系。"},
   {"email", "客户更换了采购负责人，项目暂停，需要重新建立联系。"},
   {"phone", "电话联系{c}多次未接通，疑似项目已取消。"}},
};

static const char *const kehu_seed_tag_pool[] = {
  "重点客户", "VIP", "老客户", "新客户", "渠道商", "代理商",
  "待回访", "价格敏感", "长期合作", "政府项目", "海外业务", "高潜力",
};

static const struct {
  int ntags;
  unsigned weight;
} kehu_seed_tag_counts[] = {{0, 20}, {1, 35}, {2, 30}, {3, 15}};

static const char *const kehu_seed_mail_providers[] = {"163.com", "qq.com", "126.com", "sina.com"};
static const char *const kehu_seed_mail_providers_latin[] = {"gmail.com", "outlook.com"};

/* gen.sql's mobile prefixes; 8 more digits follow. */
static const char *const kehu_seed_mobile_prefixes[16] = {
  "138", "139", "135", "136", "137", "150", "151", "158",
  "159", "186", "187", "188", "133", "153", "180", "189",
};

/* ------------------------------------------------------------- randomness */

/* splitmix64's finaliser: a bijection on 64 bits with full avalanche. */
static uint64_t kehu_seed_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Each concern of a record (name, profile, address, each contact, the
 * follow-ups) draws from its own stream of i, so a change to how one is
 * generated does not reshuffle the others. */
typedef enum {
  KEHU_SEED_STREAM_NAME = 1,
  KEHU_SEED_STREAM_PROFILE,
  KEHU_SEED_STREAM_ADDRESS,
  KEHU_SEED_STREAM_DOMAIN,
  KEHU_SEED_STREAM_FOLLOWUPS,
  KEHU_SEED_STREAM_CONTACT, /* + contact index; keep last */
} kehu_seed_stream;

typedef struct {
  uint64_t state;
} kehu_seed_rng;

static kehu_seed_rng kehu_seed_rng_for(uint64_t i, unsigned stream) {
  kehu_seed_rng r = {kehu_seed_mix(kehu_seed_mix(i) ^ (stream * 0xD6E8FEB86659FD93ull))};
  return r;
}

static uint64_t kehu_seed_next(kehu_seed_rng *r) {
  r->state += 0x9E3779B97F4A7C15ull;
  return kehu_seed_mix(r->state);
}

/* Uniform in [0, n); the modulo bias of a 64-bit draw is negligible here. */
static uint64_t kehu_seed_below(kehu_seed_rng *r, uint64_t n) { return kehu_seed_next(r) % n; }

/* An index in [0, n) drawn with probability weights[k] / sum(weights). */
static size_t kehu_seed_weighted(kehu_seed_rng *r, const unsigned *weights, size_t n) {
  unsigned total = 0;
  for (size_t k = 0; k < n; k++) total += weights[k];
  uint64_t x = kehu_seed_below(r, total);
  size_t k = 0;
  while (x >= weights[k]) x -= weights[k++];
  return k;
}

/* ---------------------------------------------------------------- strings */

/* Appends whole pieces only: a piece that does not fit is left out rather
 * than cut, so no UTF-8 sequence is ever split. The buffers are sized so
 * that this never happens (the unit test checks for headroom). */
typedef struct {
  char *p;
  size_t cap;
  size_t len;
} kehu_seed_text;

static kehu_seed_text kehu_seed_text_on(char *p, size_t cap) {
  kehu_seed_text t = {p, cap, 0};
  p[0] = '\0';
  return t;
}

static void kehu_seed_add(kehu_seed_text *t, const char *s) {
  size_t n = strlen(s);
  if (t->len + n >= t->cap) return;
  memcpy(t->p + t->len, s, n + 1);
  t->len += n;
}

static void kehu_seed_add_number(kehu_seed_text *t, uint64_t v, int width) {
  char digits[24];
  snprintf(digits, sizeof digits, "%0*" PRIu64, width, v);
  kehu_seed_add(t, digits);
}

static void kehu_seed_add_lower(kehu_seed_text *t, const char *ascii) {
  size_t start = t->len;
  kehu_seed_add(t, ascii);
  for (size_t k = start; k < t->len; k++)
    if (t->p[k] >= 'A' && t->p[k] <= 'Z') t->p[k] = (char)(t->p[k] - 'A' + 'a');
}

/* A note template with "{c}" replaced by the contact's name. */
static void kehu_seed_add_note(kehu_seed_text *t, const char *template, const char *contact) {
  const char *mark;
  while ((mark = strstr(template, "{c}")) != NULL) {
    char piece[200];
    size_t n = (size_t)(mark - template);
    if (n >= sizeof piece) return;
    memcpy(piece, template, n);
    piece[n] = '\0';
    kehu_seed_add(t, piece);
    kehu_seed_add(t, contact);
    template = mark + 3;
  }
  kehu_seed_add(t, template);
}

/* ------------------------------------------------------------------ dates */

static void kehu_seed_format_date(int year, int month, int day, char out[11]) {
  kehu_seed_text t = kehu_seed_text_on(out, 11);
  kehu_seed_add_number(&t, (uint64_t)year, 4);
  kehu_seed_add(&t, "-");
  kehu_seed_add_number(&t, (uint64_t)month, 2);
  kehu_seed_add(&t, "-");
  kehu_seed_add_number(&t, (uint64_t)day, 2);
}

static int kehu_seed_days_in_month(int year, int month) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return days[month - 1] + (month == 2 && leap);
}

/* ---------------------------------------------------------------- mobiles */

static uint64_t kehu_seed_reverse_digits(uint64_t v, int ndigits) {
  uint64_t r = 0;
  for (int k = 0; k < ndigits; k++, v /= 10) r = r * 10 + v % 10;
  return r;
}

/* Mobile number n (customer i's contact j is n = 2i + j). A chain of
 * bijections — an affine map modulo 16 * 10^8, a split into prefix and 8
 * digits, a digit reversal, another affine map — so numbers look random
 * yet never repeat for n < 1.6 * 10^9: docs/architecture.md#duplicates treats customers sharing
 * a contact mobile as duplicates, and seeded data should have none. */
static void kehu_seed_mobile(uint64_t n, char out[16]) {
  const uint64_t space = 16 * 100000000ull;
  uint64_t x = ((n % space) * 982451653ull + 48271ull) % space; /* 982451653 is prime */
  uint64_t rest = kehu_seed_reverse_digits(x / 16, 8);
  rest = (rest * 7654321ull + 13579ull) % 100000000ull; /* 7654321 is coprime to 10 */
  kehu_seed_text t = kehu_seed_text_on(out, 16);
  kehu_seed_add(&t, kehu_seed_mobile_prefixes[x % 16]);
  kehu_seed_add_number(&t, rest, 8);
}

/* ----------------------------------------------------------------- people */

typedef struct {
  char name[32];
  char mail_local[40]; /* ASCII */
} kehu_seed_person;

static void kehu_seed_chinese_person(kehu_seed_rng *r, kehu_seed_person *p) {
  const kehu_seed_word *surname =
      &kehu_seed_surnames[kehu_seed_below(r, 2) ? kehu_seed_below(r, 10)
                                                : kehu_seed_below(r, KEHU_COUNT(kehu_seed_surnames))];
  /* Two-character given names are the more common today. */
  const kehu_seed_word *given =
      kehu_seed_below(r, 3) == 0
          ? &kehu_seed_given_single[kehu_seed_below(r, KEHU_COUNT(kehu_seed_given_single))]
          : &kehu_seed_given_double[kehu_seed_below(r, KEHU_COUNT(kehu_seed_given_double))];
  kehu_seed_text name = kehu_seed_text_on(p->name, sizeof p->name);
  kehu_seed_add(&name, surname->zh);
  kehu_seed_add(&name, given->zh);

  kehu_seed_text mail = kehu_seed_text_on(p->mail_local, sizeof p->mail_local);
  switch (kehu_seed_below(r, 4)) {
  case 0: /* zhang.wei */
    kehu_seed_add(&mail, surname->pinyin);
    kehu_seed_add(&mail, ".");
    kehu_seed_add(&mail, given->pinyin);
    break;
  case 1: /* wei.zhang */
    kehu_seed_add(&mail, given->pinyin);
    kehu_seed_add(&mail, ".");
    kehu_seed_add(&mail, surname->pinyin);
    break;
  case 2: /* zhangwei */
    kehu_seed_add(&mail, surname->pinyin);
    kehu_seed_add(&mail, given->pinyin);
    break;
  default: /* zhangwei88 */
    kehu_seed_add(&mail, surname->pinyin);
    kehu_seed_add(&mail, given->pinyin);
    kehu_seed_add_number(&mail, 1 + kehu_seed_below(r, 99), 2);
    break;
  }
}

static void kehu_seed_latin_person(kehu_seed_rng *r, kehu_seed_person *p) {
  const char *first = kehu_seed_latin_first[kehu_seed_below(r, KEHU_COUNT(kehu_seed_latin_first))];
  const char *last = kehu_seed_latin_last[kehu_seed_below(r, KEHU_COUNT(kehu_seed_latin_last))];
  kehu_seed_text name = kehu_seed_text_on(p->name, sizeof p->name);
  kehu_seed_add(&name, first);
  kehu_seed_add(&name, " ");
  kehu_seed_add(&name, last);

  kehu_seed_text mail = kehu_seed_text_on(p->mail_local, sizeof p->mail_local);
  if (kehu_seed_below(r, 2)) { /* james.smith */
    kehu_seed_add_lower(&mail, first);
    kehu_seed_add(&mail, ".");
  } else { /* jsmith */
    char initial[2] = {first[0], '\0'};
    kehu_seed_add_lower(&mail, initial);
  }
  kehu_seed_add_lower(&mail, last);
}

/* --------------------------------------------------------------- customer */

/* What the name decided and the rest of the record must agree with. */
typedef struct {
  int individual;
  const kehu_seed_city *city;
  const kehu_seed_stem *stem;       /* Chinese names */
  const kehu_seed_kind *kind;       /* Chinese and mixed names */
  const char *latin_prefix;         /* Latin and mixed names */
  unsigned latin_stem;              /* Latin names */
  unsigned latin_suffix;            /* Latin names */
  unsigned min_band;
  kehu_seed_person owner;           /* a Latin individual: the customer is this person */
} kehu_seed_identity;

static void kehu_seed_make_name(uint64_t i, kehu_seed_customer *out, kehu_seed_identity *id) {
  kehu_seed_rng r = kehu_seed_rng_for(i, KEHU_SEED_STREAM_NAME);
  unsigned pattern = (unsigned)kehu_seed_below(&r, 100);
  id->city = &kehu_seed_cities[kehu_seed_below(&r, KEHU_COUNT(kehu_seed_cities))];
  int with_shi = (int)kehu_seed_below(&r, 2);
  id->individual = kehu_seed_below(&r, 100) < 5;
  id->stem = &kehu_seed_stems[kehu_seed_below(&r, KEHU_COUNT(kehu_seed_stems))];
  id->latin_prefix = kehu_seed_latin_prefixes[kehu_seed_below(&r, KEHU_COUNT(kehu_seed_latin_prefixes))];
  id->latin_stem = (unsigned)kehu_seed_below(&r, KEHU_COUNT(kehu_seed_latin_stems));
  id->latin_suffix = (unsigned)kehu_seed_below(&r, KEHU_COUNT(kehu_seed_latin_suffixes));
  unsigned legal_weights[KEHU_COUNT(kehu_seed_legal_forms)];
  for (size_t k = 0; k < KEHU_COUNT(kehu_seed_legal_forms); k++)
    legal_weights[k] = kehu_seed_legal_forms[k].weight;
  size_t legal = kehu_seed_weighted(&r, legal_weights, KEHU_COUNT(legal_weights));
  /* Sole traders (个体工商户) keep the stem, city and kind of a company name
   * so that search hit rates stay the peer's; they just are not 有限公司. */
  const char *form = kehu_seed_legal_forms[legal].text;
  id->min_band = kehu_seed_legal_forms[legal].min_band;

  kehu_seed_text name = kehu_seed_text_on(out->name, sizeof out->name);
  kehu_seed_text short_name = kehu_seed_text_on(out->short_name, sizeof out->short_name);
  if (pattern < 65) {
    out->name_style = KEHU_SEED_NAME_CHINESE;
    id->kind = &kehu_seed_kinds[kehu_seed_below(&r, KEHU_COUNT(kehu_seed_kinds))];
    kehu_seed_add(&name, id->city->name);
    if (with_shi) kehu_seed_add(&name, "市");
    kehu_seed_add(&name, id->stem->zh);
    kehu_seed_add(&name, id->kind->zh);
    kehu_seed_add(&name, id->individual ? id->kind->shop_form : form);
    kehu_seed_add(&short_name, id->stem->zh);
    kehu_seed_add(&short_name, id->kind->short_zh);
    out->industry = id->kind->industry;
  } else if (pattern < 85) {
    out->name_style = KEHU_SEED_NAME_LATIN;
    id->kind = NULL;
    out->industry = kehu_seed_latin_stems[id->latin_stem].industry;
    id->min_band = 0;
    if (id->individual) { /* a foreign buyer dealing in their own name */
      kehu_seed_latin_person(&r, &id->owner);
      kehu_seed_add(&name, id->owner.name);
      kehu_seed_add(&short_name, id->owner.name);
      return;
    }
    kehu_seed_add(&name, id->latin_prefix);
    kehu_seed_add(&name, " ");
    kehu_seed_add(&name, kehu_seed_latin_stems[id->latin_stem].en);
    kehu_seed_add(&short_name, name.p);
    kehu_seed_add(&name, " ");
    kehu_seed_add(&name, kehu_seed_latin_suffixes[id->latin_suffix].text);
  } else {
    out->name_style = KEHU_SEED_NAME_MIXED;
    id->kind = &kehu_seed_kinds[kehu_seed_below(&r, KEHU_SEED_MIXED_KINDS)];
    kehu_seed_add(&name, id->city->name);
    kehu_seed_add(&name, id->latin_prefix);
    kehu_seed_add(&name, id->kind->zh);
    kehu_seed_add(&name, id->individual ? id->kind->shop_form : form);
    kehu_seed_add(&short_name, id->latin_prefix);
    kehu_seed_add(&short_name, id->kind->short_zh);
    out->industry = id->kind->industry;
  }
}

static void kehu_seed_make_profile(uint64_t i, kehu_seed_customer *out, const kehu_seed_identity *id) {
  kehu_seed_rng r = kehu_seed_rng_for(i, KEHU_SEED_STREAM_PROFILE);
  unsigned weights[16];

  for (size_t k = 0; k < KEHU_COUNT(kehu_seed_stages); k++) weights[k] = kehu_seed_stages[k].weight;
  out->stage = kehu_seed_stages[kehu_seed_weighted(&r, weights, KEHU_COUNT(kehu_seed_stages))].text;

  for (size_t k = 0; k < KEHU_COUNT(kehu_seed_sources); k++) weights[k] = kehu_seed_sources[k].weight;
  out->source = kehu_seed_sources[kehu_seed_weighted(&r, weights, KEHU_COUNT(kehu_seed_sources))].source;

  size_t nbands = KEHU_COUNT(kehu_seed_sizes);
  size_t min_band = id->individual ? 0 : id->min_band;
  size_t max_band = id->individual ? 0 : nbands - 1;
  for (size_t k = min_band; k <= max_band; k++) weights[k - min_band] = kehu_seed_sizes[k].weight;
  out->size = kehu_seed_sizes[min_band + kehu_seed_weighted(&r, weights, max_band - min_band + 1)].text;

  for (size_t k = 0; k < KEHU_COUNT(kehu_seed_tag_counts); k++) weights[k] = kehu_seed_tag_counts[k].weight;
  out->ntags = kehu_seed_tag_counts[kehu_seed_weighted(&r, weights, KEHU_COUNT(kehu_seed_tag_counts))].ntags;
  /* Distinct tags: the first ntags of a partial Fisher-Yates shuffle. */
  unsigned order[KEHU_COUNT(kehu_seed_tag_pool)];
  for (unsigned k = 0; k < KEHU_COUNT(order); k++) order[k] = k;
  for (int k = 0; k < out->ntags; k++) {
    size_t pick = (size_t)k + kehu_seed_below(&r, KEHU_COUNT(order) - (size_t)k);
    unsigned swap = order[k];
    order[k] = order[pick];
    order[pick] = swap;
    out->tags[k] = kehu_seed_tag_pool[order[k]];
  }

  kehu_seed_text code = kehu_seed_text_on(out->external_code, sizeof out->external_code);
  kehu_seed_add(&code, "KH");
  kehu_seed_add_number(&code, i + 1, 7);
}

static void kehu_seed_make_address(uint64_t i, kehu_seed_customer *out, const kehu_seed_identity *id) {
  kehu_seed_rng r = kehu_seed_rng_for(i, KEHU_SEED_STREAM_ADDRESS);
  kehu_seed_text region = kehu_seed_text_on(out->region, sizeof out->region);
  kehu_seed_add(&region, id->city->region);
  kehu_seed_add(&region, "/");
  kehu_seed_add(&region, id->city->name);

  kehu_seed_text a = kehu_seed_text_on(out->address, sizeof out->address);
  kehu_seed_add(&a, id->city->name);
  kehu_seed_add(&a, "市");
  kehu_seed_add(&a, id->city->districts[kehu_seed_below(&r, 2)]);
  kehu_seed_add(&a, kehu_seed_roads[kehu_seed_below(&r, KEHU_COUNT(kehu_seed_roads))]);
  kehu_seed_add_number(&a, 1 + kehu_seed_below(&r, 999), 1);
  kehu_seed_add(&a, "号");
  switch (kehu_seed_below(&r, 3)) {
  case 0: { /* B座1203室 */
    char building[2] = {(char)('A' + kehu_seed_below(&r, 4)), '\0'};
    kehu_seed_add(&a, building);
    kehu_seed_add(&a, "座");
    kehu_seed_add_number(&a, (2 + kehu_seed_below(&r, 27)) * 100 + 1 + kehu_seed_below(&r, 20), 1);
    kehu_seed_add(&a, "室");
    break;
  }
  case 1:
    kehu_seed_add_number(&a, 1 + kehu_seed_below(&r, 12), 1);
    kehu_seed_add(&a, "楼");
    break;
  default:
    break;
  }
}

static void kehu_seed_make_domain(uint64_t i, kehu_seed_customer *out, const kehu_seed_identity *id) {
  kehu_seed_rng r = kehu_seed_rng_for(i, KEHU_SEED_STREAM_DOMAIN);
  static const char *const tlds[] = {".com.cn", ".com", ".cn"};
  kehu_seed_text d = kehu_seed_text_on(out->email_domain, sizeof out->email_domain);
  if (id->individual) { /* sole traders use a public mail provider */
    if (out->name_style == KEHU_SEED_NAME_LATIN)
      kehu_seed_add(&d, kehu_seed_mail_providers_latin[kehu_seed_below(&r, 2)]);
    else
      kehu_seed_add(&d, kehu_seed_mail_providers[kehu_seed_below(&r, KEHU_COUNT(kehu_seed_mail_providers))]);
    return;
  }
  switch (out->name_style) {
  case KEHU_SEED_NAME_CHINESE: /* xinghe-tech.com.cn or xinghe.cn */
    kehu_seed_add(&d, id->stem->pinyin);
    if (kehu_seed_below(&r, 3)) {
      kehu_seed_add(&d, "-");
      kehu_seed_add(&d, id->kind->slug);
    }
    kehu_seed_add(&d, tlds[kehu_seed_below(&r, KEHU_COUNT(tlds))]);
    break;
  case KEHU_SEED_NAME_LATIN: /* pacific-robotics.com */
    kehu_seed_add_lower(&d, id->latin_prefix);
    kehu_seed_add(&d, "-");
    kehu_seed_add_lower(&d, kehu_seed_latin_stems[id->latin_stem].en);
    kehu_seed_add(&d, kehu_seed_latin_suffixes[id->latin_suffix].tld);
    break;
  case KEHU_SEED_NAME_MIXED: /* nova-net.com.cn */
    kehu_seed_add_lower(&d, id->latin_prefix);
    kehu_seed_add(&d, "-");
    kehu_seed_add(&d, id->kind->slug);
    kehu_seed_add(&d, tlds[kehu_seed_below(&r, KEHU_COUNT(tlds))]);
    break;
  }
}

static void kehu_seed_make_contact(uint64_t i, int j, kehu_seed_customer *out,
                                   const kehu_seed_identity *id) {
  kehu_seed_rng r = kehu_seed_rng_for(i, KEHU_SEED_STREAM_CONTACT + (unsigned)j);
  int latin = out->name_style == KEHU_SEED_NAME_LATIN;
  kehu_seed_person p;
  /* The two contacts of a customer are different people with different
   * addresses; a few redraws make a clash vanishingly rare. */
  for (int attempt = 0; attempt < 8; attempt++) {
    if (latin && id->individual && j == 0)
      p = id->owner;
    else if (latin)
      kehu_seed_latin_person(&r, &p);
    else
      kehu_seed_chinese_person(&r, &p);
    if (j == 0) break;
    char email[64];
    kehu_seed_text e = kehu_seed_text_on(email, sizeof email);
    kehu_seed_add(&e, p.mail_local);
    kehu_seed_add(&e, "@");
    if (strcmp(p.name, out->contacts[0].name) != 0 &&
        strncmp(email, out->contacts[0].email, e.len) != 0)
      break;
  }

  kehu_seed_text t = kehu_seed_text_on(out->contacts[j].name, sizeof out->contacts[j].name);
  kehu_seed_add(&t, p.name);

  t = kehu_seed_text_on(out->contacts[j].title, sizeof out->contacts[j].title);
  if (id->individual) {
    kehu_seed_add(&t, j == 0 ? (latin ? "Owner" : "负责人") : (latin ? "Assistant" : "助理"));
    out->contacts[j].decision_maker = j == 0;
  } else {
    size_t title;
    do
      title = kehu_seed_below(&r, j == 0 ? KEHU_SEED_LEAD_TITLES : KEHU_COUNT(kehu_seed_titles));
    while (j == 1 && strcmp(latin ? kehu_seed_titles[title].en : kehu_seed_titles[title].zh,
                            out->contacts[0].title) == 0);
    kehu_seed_add(&t, latin ? kehu_seed_titles[title].en : kehu_seed_titles[title].zh);
    out->contacts[j].decision_maker = kehu_seed_titles[title].decision_maker;
  }

  kehu_seed_mobile(2 * i + (uint64_t)j, out->contacts[j].mobile);

  t = kehu_seed_text_on(out->contacts[j].email, sizeof out->contacts[j].email);
  if (id->individual && strcmp(out->email_domain, "qq.com") == 0)
    kehu_seed_add_number(&t, 10000000 + kehu_seed_below(&r, 990000000), 1); /* a QQ number */
  else
    kehu_seed_add(&t, p.mail_local);
  kehu_seed_add(&t, "@");
  kehu_seed_add(&t, out->email_domain);

  int year = 1965 + (int)kehu_seed_below(&r, 36);
  int month = 1 + (int)kehu_seed_below(&r, 12);
  int day = 1 + (int)kehu_seed_below(&r, (uint64_t)kehu_seed_days_in_month(year, month));
  kehu_seed_format_date(year, month, day, out->contacts[j].birthday);
}

static void kehu_seed_put_note(kehu_seed_customer *out, int k, const kehu_seed_note *note,
                               kehu_seed_rng *r) {
  int contact = (int)kehu_seed_below(r, KEHU_SEED_CONTACTS);
  out->followups[k].method = note->method;
  out->followups[k].contact = contact;
  kehu_seed_text t = kehu_seed_text_on(out->followups[k].summary, sizeof out->followups[k].summary);
  kehu_seed_add_note(&t, note->text, out->contacts[contact].name);
}

static void kehu_seed_make_followups(uint64_t i, kehu_seed_customer *out) {
  kehu_seed_rng r = kehu_seed_rng_for(i, KEHU_SEED_STREAM_FOLLOWUPS);
  int64_t first = 1 + (int64_t)kehu_seed_below(&r, 3 * 365);
  /* Customers a rep has let go quiet: lost ones mostly, some of the others. */
  int stage = 0;
  while (strcmp(kehu_seed_stages[stage].text, out->stage) != 0) stage++;
  int dormant = first >= 180 && kehu_seed_below(&r, 100) < (strcmp(out->stage, "lost") == 0 ? 60u : 12u);
  int64_t latest;
  if (dormant) {
    latest = 180 + (int64_t)kehu_seed_below(&r, (uint64_t)(first - 180 + 1));
  } else { /* the smaller of two draws: recent contact is the common case */
    uint64_t span = (uint64_t)(first < 179 ? first : 179) + 1;
    uint64_t a = kehu_seed_below(&r, span), b = kehu_seed_below(&r, span);
    latest = (int64_t)(a < b ? a : b);
  }
  int64_t middle = latest + (int64_t)kehu_seed_below(&r, (uint64_t)(first - latest + 1));

  size_t source = 0;
  while (strcmp(kehu_seed_sources[source].source, out->source) != 0) source++;
  kehu_seed_put_note(out, 0, &kehu_seed_sources[source].first[kehu_seed_below(&r, 2)], &r);
  if (out->name_style == KEHU_SEED_NAME_LATIN && kehu_seed_below(&r, 2))
    kehu_seed_put_note(out, 1,
                       &kehu_seed_progress_notes_en[kehu_seed_below(&r, KEHU_COUNT(kehu_seed_progress_notes_en))], &r);
  else
    kehu_seed_put_note(out, 1,
                       &kehu_seed_progress_notes[kehu_seed_below(&r, KEHU_COUNT(kehu_seed_progress_notes))], &r);
  kehu_seed_put_note(out, 2, &kehu_seed_latest_notes[stage][kehu_seed_below(&r, 3)], &r);
  out->followups[0].days_ago = first;
  out->followups[1].days_ago = middle;
  out->followups[2].days_ago = latest;

  out->first_contact_days_ago = first;
  int year, month, day;
  kehu_civil_from_days(
      kehu_days_from_civil(KEHU_SEED_BASE_YEAR, KEHU_SEED_BASE_MONTH, KEHU_SEED_BASE_DAY) - first,
      &year, &month, &day);
  kehu_seed_format_date(year, month, day, out->first_contact_at);
}

const char *kehu_seed_brand_stem(size_t k) {
  return k < KEHU_COUNT(kehu_seed_stems) ? kehu_seed_stems[k].zh : NULL;
}

void kehu_seed_customer_make(uint64_t i, kehu_seed_customer *out) {
  /* Zeroed first so that unused bytes are the same on every call too. */
  memset(out, 0, sizeof *out);
  kehu_seed_identity id;
  memset(&id, 0, sizeof id);
  kehu_seed_make_name(i, out, &id);
  out->kind = id.individual ? "individual" : "company";
  kehu_seed_make_profile(i, out, &id);
  kehu_seed_make_address(i, out, &id);
  kehu_seed_make_domain(i, out, &id);
  for (int j = 0; j < KEHU_SEED_CONTACTS; j++) kehu_seed_make_contact(i, j, out, &id);
  kehu_seed_make_followups(i, out);
}
