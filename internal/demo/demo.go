// Package demo seeds the demo organization that `greeter serve --demo`
// runs with, so that a call can be made the moment Greeter starts.
package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"greeter/internal/auth"
	demomedia "greeter/internal/demo/media"
	"greeter/internal/media"
	"greeter/internal/store"
)

// The demo accounts and site. The password is public: demo mode refuses to
// run in production and listens on loopback only.
const (
	OrgName    = "Demo Company"
	AdminEmail = "admin@demo.greeter.test"
	Password   = "greeter-demo"
	SiteKey    = "pk_demo00000000000000000000"
)

// Agent is one demo agent account.
type Agent struct {
	Email, Name, Video string
}

// Agents are the demo agents; Video names their files in the demo media.
var Agents = []Agent{
	{Email: "ava@demo.greeter.test", Name: "Ava", Video: "ava"},
	{Email: "ben@demo.greeter.test", Name: "Ben", Video: "ben"},
}

// Seed creates the demo organization, or brings an existing one back to its
// demo state: the site allows exactly origin (and its localhost name), and
// every agent has its greeting videos. Running it again changes nothing else.
func Seed(ctx context.Context, st *store.Store, lib *media.Library, origin string) error {
	// One hash serves every demo account: they share the public password,
	// and bcrypt at cost 12 is slow on purpose.
	var hash string
	passwordHash := func() (string, error) {
		var err error
		if hash == "" {
			hash, err = auth.HashPassword(Password)
		}
		return hash, err
	}

	org, err := st.OrgByName(ctx, OrgName)
	if errors.Is(err, store.ErrNotFound) {
		org, err = createOrg(ctx, st, passwordHash)
	}
	if err != nil {
		return fmt.Errorf("demo: unable to load the demo organization: %w", err)
	}

	if err := seedSite(ctx, st, org, origin); err != nil {
		return err
	}
	for _, a := range Agents {
		if err := seedAgent(ctx, st, lib, org, a, passwordHash); err != nil {
			return err
		}
	}
	return nil
}

func createOrg(ctx context.Context, st *store.Store,
	passwordHash func() (string, error)) (store.Org, error) {

	hash, err := passwordHash()
	if err != nil {
		return store.Org{}, err
	}
	org, _, err := st.CreateOrg(ctx, store.NewOrg{
		Name:              OrgName,
		AdminEmail:        AdminEmail,
		AdminFullName:     "Demo Admin",
		AdminPasswordHash: hash,
	})
	return org, err
}

func seedSite(ctx context.Context, st *store.Store, org store.Org, origin string) error {
	origins := withLocalhost(origin)
	site, err := st.SiteByKey(ctx, SiteKey)
	if errors.Is(err, store.ErrNotFound) {
		_, err = st.CreateSite(ctx, store.NewSite{
			OrgID:          org.ID,
			Name:           "Northwind Bikes (demo)",
			SiteKey:        SiteKey,
			AllowedOrigins: origins,
		})
		if err != nil {
			return fmt.Errorf("demo: unable to create the demo site: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo: unable to load the demo site: %w", err)
	}
	if site.OrgID != org.ID {
		return fmt.Errorf("demo: site key %s belongs to another organization", SiteKey)
	}
	if err := st.SetSiteOrigins(ctx, org.ID, site.ID, origins); err != nil {
		return fmt.Errorf("demo: unable to set the demo site's origin: %w", err)
	}
	return nil
}

// withLocalhost is origin, and for http://127.0.0.1:port also
// http://localhost:port: the demo shop opened under either name is the
// same page on the same machine.
func withLocalhost(origin string) []string {
	if rest, ok := strings.CutPrefix(origin, "http://127.0.0.1:"); ok {
		return []string{origin, "http://localhost:" + rest}
	}
	return []string{origin}
}

func seedAgent(ctx context.Context, st *store.Store, lib *media.Library, org store.Org,
	a Agent, passwordHash func() (string, error)) error {

	intro, err := putVideo(lib, a.Video+"-intro.webm")
	if err != nil {
		return err
	}
	loop, err := putVideo(lib, a.Video+"-loop.webm")
	if err != nil {
		return err
	}

	user, err := st.UserByEmail(ctx, a.Email)
	if errors.Is(err, store.ErrNotFound) {
		hash, herr := passwordHash()
		if herr != nil {
			return herr
		}
		user, err = st.CreateUser(ctx, store.NewUser{
			OrgID: org.ID, Email: a.Email, FullName: a.Name, Role: store.RoleAgent,
			PasswordHash: hash,
		})
	}
	if err != nil {
		return fmt.Errorf("demo: unable to load %s: %w", a.Email, err)
	}

	profile, err := st.AgentProfileByUserID(ctx, user.ID)
	if errors.Is(err, store.ErrNotFound) {
		_, err = st.CreateAgentProfile(ctx, store.NewAgentProfile{
			OrgID: org.ID, UserID: user.ID, DisplayName: a.Name,
			IntroVideo: intro, LoopVideo: loop,
		})
		if err != nil {
			return fmt.Errorf("demo: unable to create %s's profile: %w", a.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo: unable to load %s's profile: %w", a.Name, err)
	}
	if profile.IntroVideo == "" || profile.LoopVideo == "" {
		err = st.SetAgentVideos(ctx, org.ID, profile.ID, profile.WaveVideo, intro, loop)
		if err != nil {
			return fmt.Errorf("demo: unable to set %s's videos: %w", a.Name, err)
		}
	}
	return nil
}

func putVideo(lib *media.Library, file string) (string, error) {
	f, err := demomedia.FS.Open(file)
	if err != nil {
		return "", fmt.Errorf("demo: missing demo video %s: %w", file, err)
	}
	defer f.Close()
	v, err := lib.Put(f, media.MaxVideoBytes)
	if err != nil {
		return "", fmt.Errorf("demo: unable to store demo video %s: %w", file, err)
	}
	return v.Name, nil
}
