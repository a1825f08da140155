package ui

import (
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/systray"
)

// TrayHost shows the tray icon and menu: Fyne's desktop.App, or SysTray.
type TrayHost interface {
	SetSystemTrayMenu(*fyne.Menu)
	SetSystemTrayIcon(fyne.Resource)
}

// SysTray is a TrayHost that drives fyne.io/systray itself instead of
// through Fyne's driver. Fyne's tray hands each menu click to the UI loop
// and waits for it there, which would wait forever while an Idler has
// parked that loop; SysTray hands clicks to Do, which wakes it first. It
// needs no UI loop of its own, so use it where the tray is a D-Bus service
// (Linux and the BSDs), together with an Idler.
type SysTray struct {
	mu   sync.Mutex
	end  func()
	menu *fyne.Menu
}

// StartSysTray registers the tray icon with the desktop (the
// StatusNotifierItem protocol) under title, showing icon until the first
// SetSystemTrayIcon.
func StartSysTray(title string, icon fyne.Resource) *SysTray {
	s := &SysTray{}
	systray.SetIcon(icon.Content())
	start, end := systray.RunWithExternalLoop(func() {
		// Some panels misbehave with an item that has no title.
		systray.SetTitle(title)
	}, nil)
	s.end = end
	start()
	return s
}

// SetSystemTrayIcon shows r (PNG) as the tray icon.
func (s *SysTray) SetSystemTrayIcon(r fyne.Resource) { systray.SetIcon(r.Content()) }

// SetSystemTrayMenu replaces the whole menu. Item actions run on the UI
// goroutine through Do.
func (s *SysTray) SetSystemTrayMenu(m *fyne.Menu) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.menu = m
	systray.ResetMenu() // closes the old items' click channels: their goroutines end
	addTrayItems(m, nil)
}

// Menu is the menu last set.
func (s *SysTray) Menu() *fyne.Menu {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.menu
}

// Close removes the tray icon.
func (s *SysTray) Close() {
	s.mu.Lock()
	end := s.end
	s.end = nil
	s.mu.Unlock()
	if end != nil {
		end()
	}
}

func addTrayItems(m *fyne.Menu, parent *systray.MenuItem) {
	if m == nil {
		return
	}
	for _, mi := range m.Items {
		if mi.IsSeparator {
			if parent != nil {
				parent.AddSeparator()
			} else {
				systray.AddSeparator()
			}
			continue
		}
		var item *systray.MenuItem
		switch {
		case parent != nil && mi.Checked:
			item = parent.AddSubMenuItemCheckbox(mi.Label, "", true)
		case parent != nil:
			item = parent.AddSubMenuItem(mi.Label, "")
		case mi.Checked:
			item = systray.AddMenuItemCheckbox(mi.Label, "", true)
		default:
			item = systray.AddMenuItem(mi.Label, "")
		}
		if mi.Disabled {
			item.Disable()
		}
		if mi.ChildMenu != nil {
			addTrayItems(mi.ChildMenu, item)
		}
		if act := mi.Action; act != nil {
			go func() {
				for range item.ClickedCh {
					Do(act)
				}
			}()
		}
	}
}
