package webapps

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// normalTraffic is a day of three real sites' traffic as their access logs
// show it: a WordPress blog with editors (logins, the block editor's REST
// calls, admin-ajax heartbeats, autosaves, media uploads), a Drupal 7 site
// without clean URLs (its front-page login block posts to
// ?q=node&destination=node, image uploads go to file/ajax) and a Drupal 8
// site (ajax forms with element_parents), a Joomla site sorted by its
// visitors, feed readers, pingbacks, and the crawlers that walk all of it.
// Request shapes are those WordPress 6, Drupal 7/8 and Joomla 4 send (read
// from their code and browser sessions); the volumes are a small hoster's.
func normalTraffic(seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	start := time.Date(2026, 5, 12, 0, 0, 0, 0, time.UTC)
	type ev struct {
		t    time.Time
		line []byte
	}
	var evs []ev
	add := func(at time.Time, vhost, ip, method, target string, status int, size int, ref, ua string) {
		evs = append(evs, ev{at, []byte(fmt.Sprintf(`%s %s - - [%s] "%s %s HTTP/1.1" %d %d "%s" "%s"`,
			vhost, ip, at.Format("02/Jan/2006:15:04:05 -0700"), method, target, status, size, ref, ua))})
	}
	browsers := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	}
	crawlers := []string{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
		"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
	}
	visitor := func() string {
		return fmt.Sprintf("%d.%d.%d.%d", 2+rng.IntN(220), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
	}
	at := func() time.Time { return start.Add(time.Duration(rng.Int64N(int64(24 * time.Hour)))) }

	// WordPress blog: visitors read posts, feeds, search, comment.
	wp := "blog.example"
	for i := 0; i < 4000; i++ {
		ip, t, ua := visitor(), at(), browsers[rng.IntN(len(browsers))]
		post := fmt.Sprintf("/%d/%02d/post-%d/", 2020+rng.IntN(6), 1+rng.IntN(12), rng.IntN(400))
		add(t, wp, ip, "GET", post, 200, 30000+rng.IntN(20000), "https://www.google.com/", ua)
		add(t.Add(300*time.Millisecond), wp, ip, "GET", "/wp-content/themes/twentytwentyfour/style.css?ver=1.1", 200, 1200, "https://"+wp+post, ua)
		add(t.Add(400*time.Millisecond), wp, ip, "GET", "/wp-includes/js/jquery/jquery.min.js?ver=3.7.1", 200, 30000, "https://"+wp+post, ua)
		switch rng.IntN(20) {
		case 0:
			add(t.Add(40*time.Second), wp, ip, "POST", "/wp-comments-post.php", 302, 0, "https://"+wp+post, ua)
		case 1:
			add(t.Add(10*time.Second), wp, ip, "GET", "/?s=drupal+security", 200, 22000, "https://"+wp+post, ua)
		case 2:
			add(t.Add(10*time.Second), wp, ip, "GET", "/author/claire/", 200, 22000, "https://"+wp+post, ua)
		case 3:
			add(t.Add(5*time.Second), wp, ip, "GET", "/?author=2", 301, 0, "https://"+wp+post, ua)
		}
	}
	for i := 0; i < 600; i++ { // feed readers every few minutes
		add(at(), wp, fmt.Sprintf("198.51.100.%d", 1+i%40), "GET", "/feed/", 200, 41000, "-", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 12 subscribers)")
	}
	for i := 0; i < 30; i++ { // pingbacks from other blogs
		add(at(), wp, visitor(), "POST", "/xmlrpc.php", 200, 370, "-", "WordPress/6.5.3; https://other-blog.example")
	}
	// Three editors working: login (sometimes mistyped), the block editor,
	// heartbeats every 15-60 s, autosaves, uploads, logout.
	for e := 0; e < 3; e++ {
		ip, ua := fmt.Sprintf("192.0.2.%d", 10+e), browsers[e]
		for s := 0; s < 4; s++ {
			t := start.Add(time.Duration(8+e+s*3) * time.Hour)
			add(t, wp, ip, "GET", "/wp-login.php", 200, 4500, "-", ua)
			if s == 1 {
				t = t.Add(6 * time.Second)
				add(t, wp, ip, "POST", "/wp-login.php", 200, 4700, "https://"+wp+"/wp-login.php", ua)
			}
			t = t.Add(8 * time.Second)
			add(t, wp, ip, "POST", "/wp-login.php", 302, 0, "https://"+wp+"/wp-login.php", ua)
			add(t.Add(time.Second), wp, ip, "GET", "/wp-admin/", 200, 60000, "https://"+wp+"/wp-login.php", ua)
			id := 100 + rng.IntN(50)
			add(t.Add(5*time.Second), wp, ip, "GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=edit", id), 200, 90000, "https://"+wp+"/wp-admin/edit.php", ua)
			ref := fmt.Sprintf("https://%s/wp-admin/post.php?post=%d&action=edit", wp, id)
			for _, api := range []string{
				"/wp-json/wp/v2/users/me?context=edit&_locale=user",
				fmt.Sprintf("/wp-json/wp/v2/posts/%d?context=edit&_locale=user", id),
				"/wp-json/wp/v2/types?context=view&_locale=user",
				"/wp-json/wp/v2/users?context=view&who=authors&per_page=100&_fields=id%2Cname&_locale=user",
				"/wp-json/wp/v2/categories?context=view&per_page=100&_fields=id%2Cname%2Cparent&_locale=user",
				"/wp-json/wp/v2/block-patterns/patterns?_locale=user",
				"/wp-json/wp/v2/settings?_locale=user",
			} {
				add(t.Add(6*time.Second), wp, ip, "GET", api, 200, 400+rng.IntN(8000), ref, ua)
			}
			for m := 0; m < 120; m++ {
				t = t.Add(time.Duration(15+rng.IntN(45)) * time.Second)
				add(t, wp, ip, "POST", "/wp-admin/admin-ajax.php", 200, 100+rng.IntN(300), ref, ua)
				if m%10 == 0 {
					add(t.Add(time.Second), wp, ip, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%d/autosaves?_locale=user", id), 200, 2000, ref, ua)
				}
				if m%40 == 0 {
					add(t.Add(2*time.Second), wp, ip, "POST", "/wp-json/wp/v2/media?_locale=user", 201, 3000, ref, ua)
				}
			}
			add(t.Add(time.Minute), wp, ip, "GET", "/wp-login.php?action=logout&_wpnonce=8c2e1f0a9b", 302, 0, ref, ua)
		}
	}
	// wp-cron from the server itself.
	for i := 0; i < 288; i++ {
		add(start.Add(time.Duration(i)*5*time.Minute), wp, "127.0.0.1", "POST", "/wp-cron.php?doing_wp_cron=1715472000.1234", 200, 0, "-", "WordPress/6.5.3; https://"+wp)
	}

	// Drupal 7 without clean URLs: members log in from the front page's
	// block, some mistype; an editor uploads images through file/ajax.
	d7 := "asso.example"
	for i := 0; i < 3000; i++ {
		ip, t, ua := visitor(), at(), browsers[rng.IntN(len(browsers))]
		add(t, d7, ip, "GET", fmt.Sprintf("/?q=node/%d", 1+rng.IntN(300)), 200, 18000, "-", ua)
		add(t.Add(200*time.Millisecond), d7, ip, "GET", "/misc/drupal.js?v=7.103", 200, 4000, "-", ua)
	}
	for i := 0; i < 150; i++ {
		ip, t, ua := visitor(), at(), browsers[rng.IntN(len(browsers))]
		add(t, d7, ip, "GET", "/", 200, 15000, "-", ua)
		if i%5 == 0 {
			t = t.Add(9 * time.Second)
			add(t, d7, ip, "POST", "/?q=node&destination=node", 200, 15600, "https://"+d7+"/", ua)
		}
		add(t.Add(11*time.Second), d7, ip, "POST", "/?q=node&destination=node", 302, 0, "https://"+d7+"/", ua)
		add(t.Add(12*time.Second), d7, ip, "GET", "/?q=node", 200, 15000, "https://"+d7+"/", ua)
	}
	for i := 0; i < 40; i++ {
		ip, t := "192.0.2.50", start.Add(time.Duration(14*3600+i*60)*time.Second)
		add(t, d7, ip, "POST", fmt.Sprintf("/?q=file/ajax/field_image/und/0/form-%016x", rng.Uint64()), 200, 1900, "https://"+d7+"/?q=node/add/article", browsers[0])
		add(t.Add(20*time.Second), d7, ip, "POST", "/?q=node/add/article", 302, 0, "https://"+d7+"/?q=node/add/article", browsers[0])
	}
	add(start.Add(15*time.Hour), d7, "192.0.2.50", "POST", "/?q=user/44/cancel&destination=admin/people", 302, 0, "-", browsers[0])

	// Drupal 8 in a subdirectory: ajax forms, logins, the image widget.
	d8 := "www.mairie.example"
	for i := 0; i < 2500; i++ {
		ip, t, ua := visitor(), at(), browsers[rng.IntN(len(browsers))]
		add(t, d8, ip, "GET", fmt.Sprintf("/site/actualites/%d", 1+rng.IntN(200)), 200, 25000, "-", ua)
		if i%50 == 0 {
			add(t.Add(10*time.Second), d8, ip, "POST", "/site/user/login?destination=/site/node/12", 303, 0, "-", ua)
			add(t.Add(30*time.Second), d8, ip, "POST", "/site/node/add/article?element_parents=field_image/widget/0&ajax_form=1&_wrapper_format=drupal_ajax", 200, 4200, "-", ua)
		}
	}
	// Joomla: visitors sort a category list; the admin works on fields.
	jo := "club.example"
	for i := 0; i < 1500; i++ {
		ip, t, ua := visitor(), at(), browsers[rng.IntN(len(browsers))]
		add(t, jo, ip, "GET", "/index.php?option=com_content&view=category&id=8&Itemid=101", 200, 21000, "-", ua)
		if i%10 == 0 {
			add(t.Add(4*time.Second), jo, ip, "GET", "/index.php?option=com_content&view=category&id=8&list[fullordering]=a.title%20DESC", 200, 21000, "-", ua)
		}
	}
	for i := 0; i < 30; i++ {
		add(start.Add(time.Duration(10*3600+i*120)*time.Second), jo, "192.0.2.60", "GET",
			"/administrator/index.php?option=com_fields&view=fields&context=com_content.article&list[fullordering]=a.ordering%20ASC", 200, 60000, "-", browsers[1])
	}
	// Crawlers walk everything, including author archives and feeds.
	for i := 0; i < 3000; i++ {
		ua := crawlers[rng.IntN(len(crawlers))]
		ip := fmt.Sprintf("66.249.66.%d", 1+rng.IntN(200))
		switch rng.IntN(6) {
		case 0:
			add(at(), wp, ip, "GET", "/robots.txt", 200, 120, "-", ua)
		case 1:
			add(at(), wp, ip, "GET", fmt.Sprintf("/page/%d/", 1+rng.IntN(40)), 200, 30000, "-", ua)
		case 2:
			add(at(), wp, ip, "GET", "/author/claire/feed/", 200, 9000, "-", ua)
		case 3:
			add(at(), d7, ip, "GET", fmt.Sprintf("/?q=taxonomy/term/%d", 1+rng.IntN(50)), 200, 14000, "-", ua)
		case 4:
			add(at(), wp, ip, "GET", "/wp-json/", 200, 90000, "-", ua)
		default:
			add(at(), wp, ip, "GET", "/sitemap.xml", 200, 4000, "-", ua)
		}
	}
	// Sort by time, as the server writes them.
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })
	out := make([][]byte, len(evs))
	for i, e := range evs {
		out[i] = e.line
	}
	return out
}

// TestNormalTrafficRaisesNothing: a busy day of normal traffic must raise
// no finding at all. VIGIE_NORMAL_ACCESS_LOG names a real log (any
// combined or vhost_combined file) to run the same check on.
func TestNormalTrafficRaisesNothing(t *testing.T) {
	lines := normalTraffic(1)
	if len(lines) < 20_000 {
		t.Fatalf("only %d lines: not busy enough to trip a wrong rule", len(lines))
	}
	d := NewLogDetector(LogOptions{Log: "normal"})
	fs := feedAll(t, d, lines)
	for _, f := range fs {
		t.Errorf("normal traffic raised %s: %s", f.Rule, f.Summary)
	}
	st := d.Stats()
	t.Logf("normal traffic: %d lines, %d counted toward a rule (failed logins, pingbacks, author links), %d findings", st.Lines, st.Attacks, st.Findings)
	// Real logs: the one named by VIGIE_NORMAL_ACCESS_LOG, and those kept
	// in the steering repository's shared/data/access-logs/ (beside the
	// checkout in CI), which third-party logs live in rather than here.
	var real []string
	if p := os.Getenv("VIGIE_NORMAL_ACCESS_LOG"); p != "" {
		real = append(real, p)
	}
	shared, _ := filepath.Glob("../../../shared/data/access-logs/*.log")
	real = append(real, shared...)
	for _, p := range real {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		d := NewLogDetector(LogOptions{Log: p})
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			fs, _ := d.FeedLine(sc.Bytes())
			for _, f := range fs {
				n++
				t.Errorf("%s raised %s: %s", p, f.Rule, f.Summary)
			}
		}
		f.Close()
		st := d.Stats()
		t.Logf("%s: %d lines (%d unparsed), %d findings", p, st.Lines, st.Bad, n)
	}
}
