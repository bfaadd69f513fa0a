package syncsim

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/uuid"
)

// lane writes to a household's list in a cycle whose every operation makes
// exactly one revision: add an item, change its quantity, check it, delete
// it. A benchmark can then tell from the revisions alone that nothing was
// skipped, and the list stays short however long it runs. Several lanes may
// write to one household at once: each has its own item.
type lane struct {
	list string // the shopping list's path
	name string
	item string
	step int
}

func newLane(householdID, name string) *lane {
	return &lane{list: "/api/v1/households/" + householdID + "/shopping-list", name: name}
}

// next is the lane's next operation, with a fresh operation id.
func (l *lane) next() op {
	o := op{id: uuid.NewString()}
	switch l.step % 4 {
	case 0:
		l.item = uuid.NewString()
		o.method, o.path, o.add = "POST", l.list+"/items", l.item
		o.body = map[string]any{"id": l.item, "name": fmt.Sprintf("%s %d", l.name, l.step/4), "quantity": "1"}
	case 1:
		o.method, o.path = "PATCH", l.list+"/items/"+l.item
		o.body = map[string]any{"quantity": "2"}
	case 2:
		o.method, o.path = "POST", l.list+"/items/"+l.item+"/check"
	case 3:
		o.method, o.path, o.del = "DELETE", l.list+"/items/"+l.item, l.item
	}
	l.step++
	return o
}

// Fill writes n revisions to household householdID as the user of token
// (a member), from lanes lanes at once, and returns the household's
// revision afterwards. It stops at the first failed write.
func Fill(ctx context.Context, client *http.Client, base, token, householdID string, n, lanes int) (int64, error) {
	cfg := Config{BaseURL: base, Client: client}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, lanes)
	for w := range lanes {
		go func() {
			l := newLane(householdID, fmt.Sprintf("fill %d", w))
			count := n / lanes
			if w < n%lanes {
				count++
			}
			for range count {
				o := l.next()
				if err := call(ctx, cfg, token, o.method, o.path, o.body, nil, o.id); err != nil {
					errs <- fmt.Errorf("%s %s: %w", o.method, o.path, err)
					cancel() // the other lanes stop too
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range lanes {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return 0, first
	}
	var list struct{ Revision int64 }
	if err := call(ctx, cfg, token, "GET", "/api/v1/households/"+householdID+"/shopping-list", nil, &list, ""); err != nil {
		return 0, err
	}
	return list.Revision, nil
}
