package replies

import (
	"fmt"
	"html/template"
	"net/http"

	"golang.org/x/text/language"

	"herald/campaign"
	"herald/templates"
)

// pageTexts words the unsubscribe page in one language.
type pageTexts struct {
	Title, Text, Button       string // before the button is pressed
	DoneTitle, DoneText       string // after
	InvalidTitle, InvalidText string // a link whose signature does not verify
}

// builtinPages are herald's own wording, for every language the demo
// campaign ships and a few more; a campaign words its own page with an
// [unsubscribe] section in its templates.
var builtinPages = map[string]pageTexts{
	"en": {
		Title: "Unsubscribe", Text: "Press the button to stop receiving these messages.", Button: "Unsubscribe",
		DoneTitle: "Unsubscribed", DoneText: "You will not receive these messages any more.",
		InvalidTitle: "Link not valid", InvalidText: "This unsubscribe link is not valid. Please use the link from the most recent message you received.",
	},
	"id": {
		Title: "Berhenti berlangganan", Text: "Tekan tombol di bawah untuk berhenti menerima pesan ini.", Button: "Berhenti berlangganan",
		DoneTitle: "Langganan dihentikan", DoneText: "Anda tidak akan menerima pesan ini lagi.",
		InvalidTitle: "Tautan tidak valid", InvalidText: "Tautan berhenti berlangganan ini tidak valid. Gunakan tautan dari pesan terbaru yang Anda terima.",
	},
	"it": {
		Title: "Annulla l'iscrizione", Text: "Premi il pulsante per non ricevere più questi messaggi.", Button: "Annulla l'iscrizione",
		DoneTitle: "Iscrizione annullata", DoneText: "Non riceverai più questi messaggi.",
		InvalidTitle: "Link non valido", InvalidText: "Questo link per annullare l'iscrizione non è valido. Usa il link dell'ultimo messaggio che hai ricevuto.",
	},
	"fr": {
		Title: "Se désabonner", Text: "Appuyez sur le bouton pour ne plus recevoir ces messages.", Button: "Se désabonner",
		DoneTitle: "Désabonnement confirmé", DoneText: "Vous ne recevrez plus ces messages.",
		InvalidTitle: "Lien non valide", InvalidText: "Ce lien de désabonnement n'est pas valide. Utilisez le lien du dernier message que vous avez reçu.",
	},
	"ja": {
		Title: "配信停止", Text: "下のボタンを押すと、今後このメッセージは届かなくなります。", Button: "配信を停止する",
		DoneTitle: "配信を停止しました", DoneText: "今後、このメッセージは届きません。",
		InvalidTitle: "無効なリンクです", InvalidText: "この配信停止リンクは無効です。最近受け取ったメッセージのリンクをご利用ください。",
	},
	"pt-BR": {
		Title: "Cancelar inscrição", Text: "Toque no botão para deixar de receber estas mensagens.", Button: "Cancelar inscrição",
		DoneTitle: "Inscrição cancelada", DoneText: "Você não receberá mais estas mensagens.",
		InvalidTitle: "Link inválido", InvalidText: "Este link de cancelamento não é válido. Use o link da mensagem mais recente que você recebeu.",
	},
	"ar": {
		Title: "إلغاء الاشتراك", Text: "اضغط على الزر لإيقاف تلقي هذه الرسائل.", Button: "إلغاء الاشتراك",
		DoneTitle: "تم إلغاء الاشتراك", DoneText: "لن تصلك هذه الرسائل بعد الآن.",
		InvalidTitle: "الرابط غير صالح", InvalidText: "رابط إلغاء الاشتراك هذا غير صالح. يُرجى استخدام الرابط الموجود في أحدث رسالة وصلتك.",
	},
	"es": {
		Title: "Cancelar suscripción", Text: "Pulsa el botón para dejar de recibir estos mensajes.", Button: "Cancelar suscripción",
		DoneTitle: "Suscripción cancelada", DoneText: "Ya no recibirás estos mensajes.",
		InvalidTitle: "Enlace no válido", InvalidText: "Este enlace para cancelar la suscripción no es válido. Usa el enlace del mensaje más reciente que recibiste.",
	},
	"de": {
		Title: "Abmelden", Text: "Klicken Sie auf die Schaltfläche, um diese Nachrichten nicht mehr zu erhalten.", Button: "Abmelden",
		DoneTitle: "Abgemeldet", DoneText: "Sie erhalten diese Nachrichten nicht mehr.",
		InvalidTitle: "Link ungültig", InvalidText: "Dieser Abmeldelink ist ungültig. Bitte verwenden Sie den Link aus der zuletzt erhaltenen Nachricht.",
	},
}

// builtinTags lists builtinPages' languages for the matcher, English first:
// it is what a request matching none of them gets.
var builtinTags = []language.Tag{
	language.English, language.Indonesian, language.Italian, language.French, language.Japanese,
	language.BrazilianPortuguese, language.Arabic, language.Spanish, language.German,
}

var builtinMatcher = language.NewMatcher(builtinTags)

// builtinPage picks herald's wording for the first of prefs it has (a
// journal locale, then the browser's languages), else English. It returns
// the language's tag, for the page's lang attribute.
func builtinPage(prefs []language.Tag) (string, pageTexts) {
	if len(prefs) > 0 {
		_, i, conf := builtinMatcher.Match(prefs...)
		if conf != language.No {
			tag := builtinTags[i].String()
			return tag, builtinPages[tag]
		}
	}
	return "en", builtinPages["en"]
}

// pageLang is what the page is written in.
type pageLang struct {
	Lang  string // BCP 47, for <html lang>
	Dir   string // "rtl" or "ltr"
	Texts pageTexts
}

// rtlScripts are the scripts written right to left that herald's locales
// can use (CLDR's characterOrder right-to-left).
var rtlScripts = map[string]bool{"Arab": true, "Hebr": true, "Syrc": true, "Thaa": true, "Nkoo": true, "Adlm": true, "Rohg": true, "Mand": true, "Samr": true}

func direction(tag language.Tag) string {
	if s, _ := tag.Script(); rtlScripts[s.String()] {
		return "rtl"
	}
	return "ltr"
}

// unsubscribeLang decides the page's language. The token names the channel
// and address, not the locale, so the locale is that of the last send to
// the address on the channel (the journal's locale, the template file the
// message was written from); without one, the browser's Accept-Language;
// then English. A campaign whose templates have [unsubscribe] in that
// locale words the page; keys it leaves out, and every other case, take
// herald's built-in wording.
func (s *Server) unsubscribeLang(channel, address string, r *http.Request) pageLang {
	var prefs []language.Tag
	var camp, locale string
	if channel != "" && s.index.refresh() == nil {
		if ref := s.index.lastSend(channel, address); ref != nil && ref.Locale != "" {
			camp, locale = ref.Campaign, ref.Locale
			if tag, err := language.Parse(locale); err == nil {
				prefs = append(prefs, tag)
			}
		}
	}
	accept, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	prefs = append(prefs, accept...)

	if set := s.pages[camp]; set != nil && locale != "" {
		if own := set.Unsubscribe(locale); own != nil {
			tag, _ := language.Parse(locale)
			_, base := builtinPage([]language.Tag{tag})
			return pageLang{Lang: locale, Dir: direction(tag), Texts: overlay(base, own)}
		}
	}
	lang, texts := builtinPage(prefs)
	return pageLang{Lang: lang, Dir: direction(language.Make(lang)), Texts: texts}
}

// overlay puts a campaign's [unsubscribe] texts over the built-in ones.
func overlay(t pageTexts, own map[string]string) pageTexts {
	for k, dst := range map[string]*string{"title": &t.Title, "text": &t.Text, "button": &t.Button, "done_title": &t.DoneTitle, "done_text": &t.DoneText} {
		if v := own[k]; v != "" {
			*dst = v
		}
	}
	return t
}

// loadPages loads the templates of the campaign files `replies serve` was
// given, by campaign name, for their [unsubscribe] sections.
func loadPages(cfg *campaign.Config, files []string) (map[string]*templates.Set, error) {
	pages := map[string]*templates.Set{}
	for _, f := range files {
		c, err := campaign.LoadCampaign(f, cfg)
		if err != nil {
			return nil, fmt.Errorf("campaign %s (for its unsubscribe page): %w", f, err)
		}
		set, err := campaign.LoadTemplates(c.Templates)
		if err != nil {
			return nil, fmt.Errorf("campaign %s (for its unsubscribe page): %w", f, err)
		}
		pages[c.Name] = set
	}
	return pages, nil
}

var unsubscribePage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font-size:1rem;padding:.6rem 1.2rem}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Button}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">{{.Button}}</button></form>{{end}}
</body></html>
`))

type pageData struct {
	Lang, Dir           string
	Title, Text, Button string // Button "": no form
}

func writePage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Robots-Tag", "noindex")
	w.Header().Set("Content-Language", d.Lang)
	w.Header().Add("Vary", "Accept-Language")
	w.WriteHeader(status)
	_ = unsubscribePage.Execute(w, d)
}
