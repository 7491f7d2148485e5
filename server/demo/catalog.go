package demo

import "github.com/baoshui/baoshui/server/enforcement"

// town is one of the seven towns on the reservoir shore with its team and
// its village teams. Village names are real place names around the
// reservoir, used for illustration only: the demo teams are invented.
type town struct {
	slug, name, nameEN string
	anchor             int     // index into shoreLonLat of the town's stretch of shore
	weight             float64 // share of the reservoir's visitors near this town
	villages           []village
}

type village struct{ slug, name, nameEN string }

var towns = []town{
	{"xiwengzhuang", "溪翁庄镇", "Xiwengzhuang", 0, 1.35, []village{
		{"jinpoluo", "金叵罗村", "Jinpoluo"},
		{"zoumazhuang", "走马庄村", "Zoumazhuang"},
		{"shimayu", "石马峪村", "Shimayu"},
	}},
	{"mujiayu", "穆家峪镇", "Mujiayu", 4, 1.1, []village{
		{"jianchang", "碱厂村", "Jianchang"},
		{"jingziyu", "荆子峪村", "Jingziyu"},
	}},
	{"taishitun", "太师屯镇", "Taishitun", 12, 1.0, []village{
		{"linggong", "令公村", "Linggong"},
		{"machang", "马场村", "Machang"},
	}},
	{"gaoling", "高岭镇", "Gaoling", 20, 0.8, []village{
		{"yaoting", "瑶亭村", "Yaoting"},
		{"shangdianzi", "上甸子村", "Shangdianzi"},
	}},
	{"bulaotun", "不老屯镇", "Bulaotun", 26, 1.2, []village{
		{"yanluo", "燕落村", "Yanluo"},
		{"xishadi", "西沙地村", "Xishadi"},
	}},
	{"fengjiayu", "冯家峪镇", "Fengjiayu", 31, 0.7, []village{
		{"xiaying", "下营村", "Xiaying"},
		{"shidongzi", "石洞子村", "Shidongzi"},
	}},
	{"shicheng", "石城镇", "Shicheng", 39, 0.85, []village{
		{"zhangjiafen", "张家坟村", "Zhangjiafen"},
		{"shitanglu", "石塘路村", "Shitanglu"},
	}},
}

// DistrictUnit is the id of the district team, the root of the unit tree.
const DistrictUnit = "miyun"

// Password is the password of every demo account. It is published in the
// README: the demo accounts are for a local demonstration only.
const Password = "baoshui2020"

// Campaign is the campaign id set on the records of the (illustrative)
// 100-day rectification campaign on the reservoir (百日整治行动), which the
// demo places from CampaignFrom to CampaignTo inclusive.
const (
	Campaign     = "bairi-2020"
	CampaignFrom = "2020-06-01"
	CampaignTo   = "2020-09-08"
)

// piece is an item a team may confiscate: value range in yuan and the usual
// quantity range of one seizure.
type piece struct {
	name       string
	minYuan    int64
	maxYuan    int64
	minQ, maxQ int64
}

// seizure is a kind of confiscation: which pieces typically go together.
type seizure struct {
	weight   float64
	activity enforcement.Activity // what the people were doing: picks the season
	always   []piece
	maybe    []piece // each taken with probability 1/2
}

var (
	rod        = piece{"鱼竿", 100, 700, 1, 4}
	landingNet = piece{"抄网", 30, 120, 1, 1}
	keepNet    = piece{"鱼护", 30, 100, 1, 1}
	chair      = piece{"钓椅", 60, 260, 1, 1}
	umbrella   = piece{"钓鱼伞", 80, 280, 1, 1}
	cageTrap   = piece{"地笼", 40, 150, 2, 15}
	gillNet    = piece{"渔网", 60, 400, 1, 5}
	shocker    = piece{"电鱼器", 1800, 6000, 1, 1}
	battery    = piece{"电瓶", 300, 900, 1, 1}
	tent       = piece{"帐篷", 200, 900, 1, 1}
	grill      = piece{"烧烤架", 80, 300, 1, 2}
	campTable  = piece{"折叠桌椅", 50, 200, 1, 4}
	boat       = piece{"充气船", 800, 3200, 1, 1}
	outboard   = piece{"船用挂机", 2000, 6000, 1, 1}
	swimRing   = piece{"游泳圈", 20, 80, 1, 3}
)

var seizures = []seizure{
	{0.66, enforcement.ActivityFishing, []piece{rod}, []piece{landingNet, keepNet, chair, umbrella}},
	{0.15, enforcement.ActivityFishing, []piece{cageTrap}, []piece{gillNet}},
	{0.04, enforcement.ActivityFishing, []piece{shocker}, []piece{battery, landingNet}},
	{0.09, enforcement.ActivityVisiting, []piece{grill}, []piece{tent, campTable}},
	{0.03, enforcement.ActivitySwimming, []piece{swimRing}, nil},
	{0.03, enforcement.ActivityFishing, []piece{boat}, []piece{outboard}},
}

// violation is a kind of case: an illustrative description, an illustrative
// legal basis, the fines the discretion rules allow (yuan, a multiple of
// 100; 0 is a warning) with their weights, and the activity that sets its
// season and time of day.
type violation struct {
	weight     float64
	activity   enforcement.Activity
	text       string
	basis      string
	fines      []int64
	fineWeight []float64
	minYuan    int64 // bounds of the discretion range, for the final adjustment
	maxYuan    int64
}

var violations = []violation{
	{44, enforcement.ActivityFishing, "在密云水库一级保护区内垂钓",
		"《北京市密云水库保护条例》第二十八条第（一）项、第四十六条",
		[]int64{200, 500, 1000, 2000}, []float64{25, 35, 28, 12}, 200, 2000},
	{18, enforcement.ActivityFishing, "禁渔期内使用地笼、网具在水库内捕捞",
		"《北京市密云水库保护条例》第二十八条第（二）项、第四十六条",
		[]int64{1000, 2000, 3000, 5000}, []float64{30, 35, 20, 15}, 1000, 5000},
	{3, enforcement.ActivityFishing, "使用电鱼器具在水库内捕捞",
		"《中华人民共和国渔业法》第三十条、第三十八条",
		[]int64{5000, 10000, 20000}, []float64{50, 40, 10}, 5000, 20000},
	{12, enforcement.ActivitySwimming, "在密云水库一级保护区内游泳",
		"《北京市密云水库保护条例》第二十八条第（三）项、第四十六条",
		[]int64{0, 100, 200, 500}, []float64{20, 30, 35, 15}, 100, 500},
	{9, enforcement.ActivityVisiting, "驾驶机动车进入密云水库一级保护区",
		"《北京市密云水库保护条例》第二十九条、第四十七条",
		[]int64{500, 1000, 2000}, []float64{40, 40, 20}, 500, 2000},
	{9, enforcement.ActivityVisiting, "在密云水库一级保护区内野炊、露营",
		"《北京市密云水库保护条例》第二十八条第（四）项、第四十六条",
		[]int64{200, 500, 1000}, []float64{40, 40, 20}, 200, 1000},
	{3, enforcement.ActivityOther, "向水库及其保护区倾倒垃圾、废弃物",
		"《北京市密云水库保护条例》第三十条、第四十八条",
		[]int64{1000, 2000, 5000}, []float64{40, 30, 30}, 1000, 5000},
}

// grazingViolation is used for the cases that follow two of the five grazing
// incidents.
var grazingViolation = violation{0, enforcement.ActivityOther, "在密云水库一级保护区内放牧",
	"《北京市密云水库保护条例》第二十八条第（五）项、第四十六条",
	[]int64{200, 500}, []float64{50, 50}, 200, 500}

// surnames are used for anonymised parties ("张某").
var surnames = []string{"张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴",
	"徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "郑", "梁", "谢", "宋", "唐",
	"韩", "冯", "邓", "曹", "田", "董", "袁", "于", "杜", "魏", "吕", "丁", "姚", "崔",
	"范", "石", "贾", "白", "孟", "秦", "侯", "郝", "史", "常"}

// platePrefixes are licence-plate prefixes with weights: mostly Beijing
// (京), some from Chengde upstream (冀H) and elsewhere.
var platePrefixes = []struct {
	prefix string
	weight float64
}{
	{"京Q", 18}, {"京N", 12}, {"京P", 12}, {"京H", 10}, {"京G", 8}, {"京A", 8},
	{"京E", 6}, {"京K", 6}, {"京L", 5}, {"京J", 5}, {"京F", 4}, {"京M", 4},
	{"冀H", 5}, {"冀B", 2}, {"津A", 2},
}

// plateLetters are the letters Chinese plates use (no I or O).
const plateLetters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
