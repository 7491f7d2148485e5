package casesvc

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/campaigns"
	"github.com/baoshui/baoshui/server/enforcement"
)

// Campaigns holds the enforcement campaigns and the joint operations, each
// a versioned document (campaigns, joint_operations).
type Campaigns struct {
	campaigns  *versioned[campaigns.Campaign]
	operations *versioned[campaigns.Operation]
	opt        Options
}

// FollowCampaign and FollowOperation are the records.DocFollower of the
// campaigns and of the joint operations: a revision another server
// instance stored.
func (s *Campaigns) FollowCampaign(ctx context.Context, id string, rev int64) error {
	return s.campaigns.follow(ctx, id, rev)
}

// FollowOperation: see FollowCampaign.
func (s *Campaigns) FollowOperation(ctx context.Context, id string, rev int64) error {
	return s.operations.follow(ctx, id, rev)
}

// OpenCampaigns reads every stored campaign and operation revision; it runs
// at start only.
func OpenCampaigns(ctx context.Context, st RevisionStore, opt Options) (*Campaigns, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	cs, err := loadVersioned[campaigns.Campaign](ctx, st, colCampaigns)
	if err != nil {
		return nil, fmt.Errorf("casesvc.OpenCampaigns: %w", err)
	}
	ops, err := loadVersioned[campaigns.Operation](ctx, st, colOperations)
	if err != nil {
		return nil, fmt.Errorf("casesvc.OpenCampaigns: %w", err)
	}
	return &Campaigns{campaigns: cs, operations: ops, opt: opt}, nil
}

// PutCampaign creates (baseRev 0) or replaces (baseRev the current
// revision) campaign c as actor. Errors: enforcement.ErrInvalid (with the
// fields), enforcement.ErrExists, enforcement.ErrNotFound and
// enforcement.ErrConflict as versioned documents have them.
func (s *Campaigns) PutCampaign(ctx context.Context, actor string, baseRev int, c campaigns.Campaign) (campaigns.Campaign, int, error) {
	if err := c.Validate(); err != nil {
		return campaigns.Campaign{}, 0, fmt.Errorf("casesvc: campaign %s: %w", c.ID, err)
	}
	now := nowMs(s.opt.Now)
	out, rev, err := s.campaigns.put(ctx, c.ID, baseRev, actor, now, func(campaigns.Campaign) (campaigns.Campaign, error) {
		return c, nil
	})
	if err != nil {
		return campaigns.Campaign{}, 0, fmt.Errorf("casesvc: %w", err)
	}
	s.audit(ctx, actor, "campaign.put", "campaign:"+c.ID, rev, now)
	return out, rev, nil
}

// Campaign returns campaign id and its revision, or enforcement.ErrNotFound.
func (s *Campaigns) Campaign(id string) (campaigns.Campaign, int, error) {
	c, rev, ok := s.campaigns.get(id)
	if !ok {
		return campaigns.Campaign{}, 0, fmt.Errorf("casesvc: campaign %s: %w", id, enforcement.ErrNotFound)
	}
	return c, rev, nil
}

// CampaignList returns every campaign, the latest start first.
func (s *Campaigns) CampaignList() []campaigns.Campaign {
	out := []campaigns.Campaign{}
	s.campaigns.each(func(c campaigns.Campaign, _ int) { out = append(out, c) })
	slices.SortFunc(out, func(a, b campaigns.Campaign) int { return cmp.Or(cmp.Compare(b.From, a.From), cmp.Compare(a.ID, b.ID)) })
	return out
}

// PutOperation creates (baseRev 0) or replaces a joint operation as actor.
// Its campaign, when named, must exist. Errors as PutCampaign.
func (s *Campaigns) PutOperation(ctx context.Context, actor string, baseRev int, o campaigns.Operation) (campaigns.Operation, int, error) {
	o.Start, o.End = instant(o.Start), instant(o.End)
	now := nowMs(s.opt.Now)
	if err := o.Validate(now); err != nil {
		return campaigns.Operation{}, 0, fmt.Errorf("casesvc: operation %s: %w", o.ID, err)
	}
	if o.Campaign != "" {
		if _, _, ok := s.campaigns.get(o.Campaign); !ok {
			return campaigns.Operation{}, 0, fmt.Errorf("casesvc: operation %s: %w", o.ID, invalid("campaign", "unknown campaign"))
		}
	}
	out, rev, err := s.operations.put(ctx, o.ID, baseRev, actor, now, func(campaigns.Operation) (campaigns.Operation, error) {
		return o, nil
	})
	if err != nil {
		return campaigns.Operation{}, 0, fmt.Errorf("casesvc: %w", err)
	}
	s.audit(ctx, actor, "operation.put", "operation:"+o.ID, rev, now)
	return out, rev, nil
}

// Operation returns operation id and its revision, or
// enforcement.ErrNotFound.
func (s *Campaigns) Operation(id string) (campaigns.Operation, int, error) {
	o, rev, ok := s.operations.get(id)
	if !ok {
		return campaigns.Operation{}, 0, fmt.Errorf("casesvc: operation %s: %w", id, enforcement.ErrNotFound)
	}
	return o, rev, nil
}

// OperationList returns the operations of campaign ("" = all) whose lead
// unit visible accepts (nil = all), the latest first.
func (s *Campaigns) OperationList(campaign string, visible func(unit string) bool) []campaigns.Operation {
	out := []campaigns.Operation{}
	s.operations.each(func(o campaigns.Operation, _ int) {
		if (campaign == "" || o.Campaign == campaign) && (visible == nil || visible(o.Unit)) {
			out = append(out, o)
		}
	})
	slices.SortFunc(out, func(a, b campaigns.Operation) int { return cmp.Or(b.Start.Compare(a.Start), cmp.Compare(a.ID, b.ID)) })
	return out
}

func (s *Campaigns) audit(ctx context.Context, actor, action, object string, rev int, at time.Time) {
	if s.opt.Auditor == nil {
		return
	}
	e := audit.Entry{At: at, Actor: actor, Action: action, Object: object, Rev: int64(rev)}
	if err := s.opt.Auditor.Audit(ctx, e); err != nil && s.opt.Logger != nil {
		s.opt.Logger.Warn("stored, its audit entry not", "object", object, "rev", rev, "err", err)
	}
}
