package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SiteNode is what the state file keeps of a node of the site kiln serve
// last loaded, so that kiln status and kiln events can show roles and
// groups, and select by them, without reading the site (which may not
// check mid-incident).
type SiteNode struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	Group string `json:"group,omitempty"`
	IP    string `json:"ip,omitempty"`
	MAC   string `json:"mac,omitempty"`
}

// SiteRecord is the site as kiln serve last loaded it.
type SiteRecord struct {
	Cluster string     `json:"cluster"`
	At      time.Time  `json:"at"`
	Nodes   []SiteNode `json:"nodes"`
}

// SetSite records the site kiln serve loaded (in the meta table).
func (s *Store) SetSite(ctx context.Context, rec SiteRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.do(ctx, func(t *tx) error {
		w, err := t.conn()
		if err != nil {
			return err
		}
		_, err = w.exec(t.ctx, `INSERT INTO meta(key, value) VALUES('site', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, string(b))
		return err
	})
}

// Site returns the site kiln serve last recorded, or nil when none has
// been (a state file from an older kiln).
func (s *Store) Site(ctx context.Context) (*SiteRecord, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='site'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec SiteRecord
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return nil, fmt.Errorf("the state file %s: its site record is damaged: %w", s.path, err)
	}
	return &rec, nil
}
