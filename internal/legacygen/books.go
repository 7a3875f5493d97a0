package legacygen

import (
	"fmt"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) bookTables() []*table {
	return []*table{
		{name: "books", cols: []string{"id", "user_id", "title", "author", "total_pages", "current_page", "status",
			"started_at", "completed_at", "rating", "notes", "cover_blob_id", "created_at", "updated_at"}, fill: g.fillBooks},
		{name: "reading_sessions", cols: []string{"id", "book_id", "user_id", "pages_read", "duration_minutes",
			"started_at", "notes", "xp_awarded", "coins_awarded"}, fill: g.fillReadingSessions},
	}
}

type bookP struct {
	id       uid
	created  time.Time
	sessions int
}

func (g *gen) booksOf(i int) []bookP {
	u := &g.users[i]
	if !u.has(fBooks) {
		return nil
	}
	r := g.rng("books", i)
	out := make([]bookP, min(25, 1+r.count(u.w*1.5)))
	for k := range out {
		out[k] = bookP{id: r.uid(), created: r.at(u.from(), Base), sessions: r.count(2 + u.w*2)}
	}
	return out
}

var bookTitles = []string{"Deep Work", "Atomic Habits", "The Name of the Rose", "Der Zauberberg", "百年の孤独",
	"Cien años de soledad", "الخيميائي", "Le Petit Prince", "Война и мир", "Thinking, Fast and Slow",
	"Musicophilia", "Mixing Secrets for the Small Studio", "Born to Run", "Sapiens", "Dune"}

func (g *gen) fillBooks(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("books.c", i)
		for k, b := range g.booksOf(i) {
			status := pick(r, []string{"want_to_read", "reading", "reading", "completed", "abandoned"})
			total := r.opt(0.1, r.n(80, 1200))
			cur := 0
			if t, ok := total.(int); ok && status != "want_to_read" {
				cur = r.n(0, t)
			}
			var started, done any
			switch {
			case status == "want_to_read":
			case r.p(0.01):
				started = farPast // typed in as "read it long ago"
			default:
				started = r.opt(0.1, b.created)
			}
			if status == "completed" {
				done = r.at(b.created, Base.Add(time.Second))
			}
			title := pick(r, bookTitles)
			if r.p(0.3) {
				title = r.title()
			}
			s.row(b.id, u.id, title, r.opt(0.2, r.name()), total, cur, status, started, done, r.opt(0.6, r.n(1, 5)), r.text(0.6),
				r.opt(0.8, r.uid()), b.created, r.at(b.created, Base.Add(time.Second)))
			if k == 0 && u.dup {
				g.note("books", uidString(b.id), "duplicate_email_child", mappings.Rejected, mappings.ReasonParentRejected,
					"owner "+uidString(u.id)+" is rejected (duplicate_email)")
			}
		}
	}
}

func (g *gen) fillReadingSessions(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("reading_sessions", i)
		books := g.booksOf(i)
		for _, b := range books {
			for k := 0; k < b.sessions; k++ {
				pages := r.n(1, 60)
				s.row(r.uid(), b.id, u.id, pages, r.opt(0.2, r.n(5, 120)), r.at(b.created, Base), r.text(0.9), pages/2, pages/10)
			}
		}
		if v, ok := g.an.tenantBook[i]; ok && len(books) > 0 {
			id := r.uid()
			s.row(id, books[0].id, g.users[v].id, 12, 30, r.at(books[0].created, Base), "borrowed the book", 6, 1)
			g.note("reading_sessions", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
				fmt.Sprintf("user_id %s, book owner %s", uidString(g.users[v].id), uidString(u.id)))
		}
	}
}
