package ui

import (
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
)

// Language choices stored in Settings.Language.
const (
	LangSystem  = ""
	LangEnglish = "en"
	LangChinese = "zh_Hans"
)

//go:embed translations
var translationFS embed.FS

const (
	translationDir = "translations"
	fileEnglish    = "tidings.en.json"
	fileChinese    = "tidings.zh_Hans.json"
)

// fyneLocales are the translations Fyne itself ships. The localizer always
// resolves the system locale to one of these (or to English), so loading
// one language's strings under all of them forces that language whatever
// the system says, without touching Fyne's own keys.
var fyneLocales = []string{"cs", "de", "el", "en", "es", "fr", "ja", "pl", "pt", "pt_BR", "ru", "sv", "ta", "uk", "zh_Hans"}

var (
	i18nOnce sync.Once
	i18nErr  error
	english  map[string]string // fallback text of every key
	raw      map[string][]byte // file contents by language
)

func loadTranslations() error {
	i18nOnce.Do(func() {
		raw = map[string][]byte{}
		for l, f := range map[string]string{LangEnglish: fileEnglish, LangChinese: fileChinese} {
			b, err := translationFS.ReadFile(translationDir + "/" + f)
			if err != nil {
				i18nErr = fmt.Errorf("ui: read %s: %w", f, err)
				return
			}
			raw[l] = b
		}
		if err := json.Unmarshal(raw[LangEnglish], &english); err != nil {
			i18nErr = fmt.Errorf("ui: parse %s: %w", fileEnglish, err)
			return
		}
		i18nErr = lang.AddTranslationsFS(translationFS, translationDir)
	})
	return i18nErr
}

// SetLanguage loads Tidings' strings and selects the language: LangSystem
// follows the OS locale (Chinese for any zh locale, else English),
// LangEnglish or LangChinese override it. Windows built afterwards use it;
// App.SetLanguage also rebuilds open windows and the tray menu.
func SetLanguage(choice string) error {
	if err := loadTranslations(); err != nil {
		return err
	}
	for _, loc := range fyneLocales {
		pick := choice
		if pick == LangSystem {
			pick = LangEnglish
			if loc == "zh_Hans" {
				pick = LangChinese
			}
		}
		data, ok := raw[pick]
		if !ok {
			return fmt.Errorf("ui: unknown language %q", choice)
		}
		if err := lang.AddTranslationsForLocale(data, fyne.Locale(loc)); err != nil {
			return fmt.Errorf("ui: load %s strings for %s: %w", pick, loc, err)
		}
	}
	return nil
}

// T returns the translation of key in the current language. Call it (and
// SetLanguage) on the UI goroutine only: Fyne's lang package does not
// guard its state against concurrent use.
//
// T returns the translation of key in the current language, with English
// (from the English file, never from Go source) as the fallback. data fills
// {{.Field}} templates.
func T(key string, data ...any) string {
	_ = loadTranslations() // once; an error leaves english nil and keys shown
	fb, ok := english[key]
	if !ok {
		fb = key
	}
	return lang.X(key, fb, data...)
}
