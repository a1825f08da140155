package gotifyinterop

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/gotify/server/v2/model"
)

// memDB is an in-memory stand-in for Gotify's GormDatabase: the methods the
// real auth middleware and the real message, application, client and stream
// handlers call, with the same semantics (not found is nil, nil; messages
// "since" are ids below since, newest first). It returns copies, because
// the handlers modify what they get (withResolvedImage).
type memDB struct {
	mu       sync.Mutex
	users    []model.User
	apps     []model.Application
	clients  []model.Client
	messages []model.Message
	nextID   map[string]uint
}

func newMemDB() *memDB { return &memDB{nextID: map[string]uint{}} }

func (d *memDB) id(kind string) uint {
	d.nextID[kind]++
	return d.nextID[kind]
}

func ptr[T any](v T) *T { return &v }

// auth.Database

func (d *memDB) GetApplicationByToken(token string) (*model.Application, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.apps {
		if a.Token == token {
			return ptr(a), nil
		}
	}
	return nil, nil
}

func (d *memDB) GetClientByToken(token string) (*model.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.clients {
		if c.Token == token {
			return ptr(c), nil
		}
	}
	return nil, nil
}

func (d *memDB) GetPluginConfByToken(string) (*model.PluginConf, error) { return nil, nil }

func (d *memDB) GetUserByName(name string) (*model.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range d.users {
		if u.Name == name {
			return ptr(u), nil
		}
	}
	return nil, nil
}

func (d *memDB) GetUserByID(id uint) (*model.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range d.users {
		if u.ID == id {
			return ptr(u), nil
		}
	}
	return nil, nil
}

func (d *memDB) UpdateClientTokensLastUsed(tokens []string, t *time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.clients {
		if slices.Contains(tokens, d.clients[i].Token) {
			d.clients[i].LastUsed = t
		}
	}
	return nil
}

func (d *memDB) UpdateApplicationTokenLastUsed(token string, t *time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.apps {
		if d.apps[i].Token == token {
			d.apps[i].LastUsed = t
		}
	}
	return nil
}

// api.MessageDatabase

func (d *memDB) since(keep func(m model.Message) bool, limit int, since uint) []*model.Message {
	var out []*model.Message
	for i := len(d.messages) - 1; i >= 0 && len(out) < limit; i-- {
		m := d.messages[i]
		if (since == 0 || m.ID < since) && keep(m) {
			out = append(out, ptr(m))
		}
	}
	return out
}

func (d *memDB) GetMessagesByApplicationSince(appID uint, limit int, since uint) ([]*model.Message, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.since(func(m model.Message) bool { return m.ApplicationID == appID }, limit, since), nil
}

func (d *memDB) GetMessagesByUserSince(userID uint, limit int, since uint) ([]*model.Message, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	mine := map[uint]bool{}
	for _, a := range d.apps {
		mine[a.ID] = a.UserID == userID
	}
	return d.since(func(m model.Message) bool { return mine[m.ApplicationID] }, limit, since), nil
}

func (d *memDB) GetApplicationByID(id uint) (*model.Application, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.apps {
		if a.ID == id {
			return ptr(a), nil
		}
	}
	return nil, nil
}

func (d *memDB) DeleteMessageByID(id uint) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.messages = slices.DeleteFunc(d.messages, func(m model.Message) bool { return m.ID == id })
	return nil
}

func (d *memDB) GetMessageByID(id uint) (*model.Message, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.messages {
		if m.ID == id {
			return ptr(m), nil
		}
	}
	return nil, nil
}

func (d *memDB) DeleteMessagesByUser(userID uint) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	mine := map[uint]bool{}
	for _, a := range d.apps {
		mine[a.ID] = a.UserID == userID
	}
	d.messages = slices.DeleteFunc(d.messages, func(m model.Message) bool { return mine[m.ApplicationID] })
	return nil
}

func (d *memDB) DeleteMessagesByApplication(appID uint) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.messages = slices.DeleteFunc(d.messages, func(m model.Message) bool { return m.ApplicationID == appID })
	return nil
}

func (d *memDB) CreateMessage(m *model.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	m.ID = d.id("message")
	d.messages = append(d.messages, *m)
	return nil
}

// api.ApplicationDatabase

func (d *memDB) CreateApplication(a *model.Application) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a.ID = d.id("application")
	d.apps = append(d.apps, *a)
	return nil
}

func (d *memDB) GetApplicationsByUser(userID uint) ([]*model.Application, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*model.Application
	for _, a := range d.apps {
		if a.UserID == userID {
			out = append(out, ptr(a))
		}
	}
	return out, nil
}

func (d *memDB) DeleteApplicationByID(id uint) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apps = slices.DeleteFunc(d.apps, func(a model.Application) bool { return a.ID == id })
	return nil
}

func (d *memDB) UpdateApplication(a *model.Application) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.apps {
		if d.apps[i].ID == a.ID {
			d.apps[i] = *a
		}
	}
	return nil
}

// api.ClientDatabase

func (d *memDB) CreateClient(c *model.Client) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c.ID = d.id("client")
	d.clients = append(d.clients, *c)
	return nil
}

func (d *memDB) GetClientByID(id uint) (*model.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.clients {
		if c.ID == id {
			return ptr(c), nil
		}
	}
	return nil, nil
}

func (d *memDB) GetClientsByUser(userID uint) ([]*model.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*model.Client
	for _, c := range d.clients {
		if c.UserID == userID {
			out = append(out, ptr(c))
		}
	}
	return out, nil
}

func (d *memDB) DeleteClientByID(id uint) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clients = slices.DeleteFunc(d.clients, func(c model.Client) bool { return c.ID == id })
	return nil
}

func (d *memDB) UpdateClient(c *model.Client) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.clients {
		if d.clients[i].ID == c.ID {
			d.clients[i] = *c
		}
	}
	return nil
}

// The rest of api.UserDatabase, for GET /current/user (which reads only
// GetUserByID); the harness never changes users through the API.

func (d *memDB) GetUsers() ([]*model.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*model.User, 0, len(d.users))
	for _, u := range d.users {
		u := u
		out = append(out, &u)
	}
	return out, nil
}

func (d *memDB) CountUser(...interface{}) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int64(len(d.users)), nil
}

func (d *memDB) DeleteUserByID(uint) error      { return errors.ErrUnsupported }
func (d *memDB) UpdateUser(*model.User) error   { return errors.ErrUnsupported }
func (d *memDB) CreateUser(u *model.User) error { return errors.ErrUnsupported }
