// Package audiencetest writes realistic audience files for tests and
// benchmarks of herald: valid rows across several countries, languages,
// time zones and phone formats, the same bytes for the same seed.
package audiencetest

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// Header is the header row Generate writes.
var Header = []string{"id", "name", "email", "phone", "locale", "timezone", "country", "channels", "order_id", "eta", "amount"}

// market is everything a row from one country needs.
type market struct {
	country  string
	cc       string   // country calling code
	mobile   []string // national mobile prefixes; digits are appended up to nsnLen
	nsnLen   int      // national significant number length
	trunk    string   // national trunk prefix written before national numbers ("" if none)
	locales  []string // as customers' systems spell them, legacy forms included
	zones    []string
	first    []string
	last     []string
	currency float64 // typical order amount
}

var markets = []market{
	{"ID", "62", []string{"812", "813", "821", "852", "857"}, 11, "0", []string{"id", "id-ID", "in"}, []string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"},
		[]string{"Budi", "Siti", "Agus", "Dewi", "Putri"}, []string{"Santoso", "Wijaya", "Hidayat", "Lestari"}, 250000},
	{"IT", "39", []string{"320", "333", "347", "366"}, 10, "", []string{"it", "it-IT", "it_IT"}, []string{"Europe/Rome"},
		[]string{"Giulia", "Marco", "Chiara", "Luca"}, []string{"Rossi", "Bianchi", "Esposito", "D'Angelo"}, 80},
	{"JP", "81", []string{"901", "809", "705", "906"}, 10, "0", []string{"ja", "ja-JP"}, []string{"Asia/Tokyo"},
		[]string{"太郎", "花子", "翔", "さくら"}, []string{"山田", "佐藤", "鈴木"}, 9000},
	{"BR", "55", []string{"119", "219", "319"}, 11, "0", []string{"pt-BR", "pt_BR", "pt-br"}, []string{"America/Sao_Paulo", "America/Manaus"},
		[]string{"João", "Maria", "Ana", "Pedro"}, []string{"Silva", "Santos", "Conceição"}, 300},
	{"US", "1", []string{"2027", "2129", "4158", "6463", "3128"}, 10, "", []string{"en-US", "en", "es-US"}, []string{"America/New_York", "America/Chicago", "America/Los_Angeles"},
		[]string{"Emily", "James", "Zoë", "Michael"}, []string{"Smith", "Johnson", "O'Brien"}, 60},
	{"FR", "33", []string{"61", "62", "66", "67", "73", "75", "78"}, 9, "0", []string{"fr", "fr-FR"}, []string{"Europe/Paris"},
		[]string{"Léa", "Hugo", "Chloé", "Théo"}, []string{"Martin", "Bernard", "Lefèvre"}, 70},
	{"EG", "20", []string{"10", "11", "12", "15"}, 10, "0", []string{"ar-EG", "ar"}, []string{"Africa/Cairo"},
		[]string{"محمد", "فاطمة", "أحمد"}, []string{"علي", "حسن", "إبراهيم"}, 1500},
	{"IN", "91", []string{"98", "97", "99", "70"}, 10, "0", []string{"hi", "hi-IN", "en-IN"}, []string{"Asia/Kolkata"},
		[]string{"Ananya", "Rahul", "अनन्या", "Priya"}, []string{"Sharma", "Patel", "शर्मा"}, 2000},
	{"NP", "977", []string{"984", "985", "980"}, 10, "0", []string{"ne", "ne-NP"}, []string{"Asia/Kathmandu"},
		[]string{"Sunita", "Ram", "सुनिता"}, []string{"Shrestha", "Gurung", "Thapa"}, 3000},
}

var channelOrders = []string{"whatsapp,email", "email", "sms", "whatsapp|sms", "email;sms", "whatsapp sms email", ""}

// Generate writes a header and n valid rows. The same seed gives the same
// bytes. About one number in five is written nationally (with the country
// filled in), one row in ten leaves the country for herald to infer, and
// some names need CSV quoting.
func Generate(w io.Writer, n int, seed int64) error {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(Header); err != nil {
		return err
	}
	row := make([]string, len(Header))
	for i := range n {
		m := &markets[rng.IntN(len(markets))]
		first, last := m.first[rng.IntN(len(m.first))], m.last[rng.IntN(len(m.last))]
		row[0] = "c-" + strconv.Itoa(i+1)
		if rng.IntN(20) == 0 {
			row[1] = last + ", " + first // needs quoting
		} else {
			row[1] = first + " " + last
		}
		domain := "example.com"
		if rng.IntN(8) == 0 {
			domain = "Example.COM" // herald lower-cases the domain
		}
		row[2] = fmt.Sprintf("customer%d@%s", i+1, domain)
		nsn := m.mobile[rng.IntN(len(m.mobile))]
		for len(nsn) < m.nsnLen {
			nsn += strconv.Itoa(rng.IntN(10))
		}
		row[6] = m.country
		switch r := rng.IntN(10); {
		case r < 2:
			row[3] = m.trunk + nsn // national form: needs the country
		case r < 3:
			row[3] = "+" + m.cc + " " + nsn[:3] + " " + nsn[3:] // grouped
			row[6] = ""                                         // inferred from the number
		default:
			row[3] = "+" + m.cc + nsn
		}
		row[4] = m.locales[rng.IntN(len(m.locales))]
		row[5] = m.zones[rng.IntN(len(m.zones))]
		row[7] = channelOrders[rng.IntN(len(channelOrders))]
		row[8] = fmt.Sprintf("ORD-%07d", rng.IntN(10_000_000))
		row[9] = fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28))
		row[10] = strconv.FormatFloat(m.currency*(0.2+rng.Float64()*3), 'f', 2, 64)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
