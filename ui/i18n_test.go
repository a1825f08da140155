package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// useLanguage selects a language for one test and goes back to English.
func useLanguage(t testing.TB, choice string) {
	t.Helper()
	if err := SetLanguage(choice); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SetLanguage(LangEnglish) })
}

func readKeys(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("translations", file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

func TestEnglishAndChineseFilesHaveTheSameKeysAndNoEmptyValues(t *testing.T) {
	en, zh := readKeys(t, fileEnglish), readKeys(t, fileChinese)
	for k, v := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("%q is in English but not in Chinese", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("English %q is empty", k)
		}
	}
	for k, v := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("%q is in Chinese but not in English", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("Chinese %q is empty", k)
		}
	}
	// Templates must use the same fields in both languages.
	field := regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)
	for k := range en {
		a, b := field.FindAllString(en[k], -1), field.FindAllString(zh[k], -1)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%q: English fields %v, Chinese fields %v", k, a, b)
		}
	}
}

func goSources(t *testing.T) map[string]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ast.File{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = af
	}
	return out
}

func TestEveryKeyTheCodeLooksUpIsInTheEnglishFile(t *testing.T) {
	en := readKeys(t, fileEnglish)
	dynamic := map[string][]string{ // prefixes completed at run time
		"login.protocol.": {"tidings", "gotify", "ntfy"},
		"priority.":       {"1", "2", "3", "4", "5"},
	}
	for name, f := range goSources(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || (id.Name != "T" && id.Name != "heading") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				if bin, ok := call.Args[0].(*ast.BinaryExpr); ok {
					if l, ok := bin.X.(*ast.BasicLit); ok {
						prefix := strings.Trim(l.Value, `"`)
						for _, s := range dynamic[prefix] {
							if _, ok := en[prefix+s]; !ok {
								t.Errorf("%s: key %q missing", name, prefix+s)
							}
						}
						if dynamic[prefix] == nil {
							t.Errorf("%s: unknown dynamic key prefix %q", name, prefix)
						}
					}
				}
				return true
			}
			key := strings.Trim(lit.Value, `"`)
			if _, ok := en[key]; !ok {
				t.Errorf("%s: key %q is not in %s", name, key, fileEnglish)
			}
			return true
		})
	}
}

// Widget constructors and setters that show text to the user: their string
// arguments must come from T, never from a literal.
var textTakers = map[string]bool{
	"NewLabel": true, "NewButton": true, "NewCheck": true, "NewMenuItem": true, "NewMenu": true,
	"NewWindow": true, "SetText": true, "SetPlaceHolder": true, "SetTitle": true, "NewHyperlink": true,
	"NewCustomConfirm": true, "NewConfirm": true, "NewInformation": true, "ShowError": true,
	"NewSelect": true, "NewRadioGroup": true, "NewForm": true, "NewFormItem": true, "NewCard": true,
}

func TestNoUserVisibleStringIsHardCodedInWidgetCalls(t *testing.T) {
	for name, f := range goSources(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !textTakers[sel.Sel.Name] {
				return true
			}
			for _, a := range call.Args {
				lit, ok := a.(*ast.BasicLit)
				if ok && lit.Kind == token.STRING && lit.Value != `""` {
					t.Errorf("%s: %s(%s …) shows a literal; put it in the translation files", name, sel.Sel.Name, lit.Value)
				}
			}
			return true
		})
	}
}

func TestChoosingChineseOverridesTheSystemLanguageAndSystemFollowsIt(t *testing.T) {
	useLanguage(t, LangChinese)
	if got := T("login.button"); got != "登录" {
		t.Fatalf("Chinese login button = %q", got)
	}
	if got := T("tray.status.reconnecting", map[string]any{"Seconds": 8, "Attempt": 3}); got != "8 秒后重新连接（第 3 次尝试）" {
		t.Fatalf("template = %q", got)
	}
	if err := SetLanguage(LangEnglish); err != nil {
		t.Fatal(err)
	}
	if got := T("login.button"); got != "Log in" {
		t.Fatalf("English login button = %q", got)
	}
	// The test process runs with an English or C locale, so System is English.
	t.Setenv("LANGUAGE", "")
	if err := SetLanguage(LangSystem); err != nil {
		t.Fatal(err)
	}
	if got := T("login.button"); got != "Log in" {
		t.Fatalf("system-language login button = %q", got)
	}
}

func TestUnknownLanguageIsAnError(t *testing.T) {
	if err := SetLanguage("tlh"); err == nil {
		t.Fatal("Klingon accepted")
	}
}
