package webapps

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Plugins, themes and modules as their authors ship them: a WordPress
// with a vulnerable plugin on an otherwise current core, a Drupal 7 with
// packaged contrib modules, a Joomla with components, modules, plugins
// and a template.
func TestExtensionsInventoryAndAdvisories(t *testing.T) {
	root := t.TempDir()
	wp := filepath.Join(root, "blog")
	writeFile(t, filepath.Join(wp, "wp-includes/version.php"), "<?php\n$wp_version = '6.8.3';\n")
	writeFile(t, filepath.Join(wp, "wp-settings.php"), "<?php\n")
	// The main file's header is the installed version.
	writeFile(t, filepath.Join(wp, "wp-content/plugins/backwpup/backwpup.php"), "<?php\n/**\n * Plugin Name:       BackWPup\n * Plugin URI:        https://backwpup.com/\n * Description:       WordPress Backup Plugin\n * Author:            WP Media\n * Version:           4.0.2\n * Requires at least: 3.9\n */\n")
	writeFile(t, filepath.Join(wp, "wp-content/plugins/backwpup/readme.txt"), "=== BackWPup ===\nStable tag: 4.0.2\n")
	// Main file not named after the directory.
	writeFile(t, filepath.Join(wp, "wp-content/plugins/wp-file-manager/index.php"), "<?php\n// Silence is golden.\n")
	writeFile(t, filepath.Join(wp, "wp-content/plugins/wp-file-manager/file_folder_manager.php"), "<?php\n/*\nPlugin Name: WP File Manager\nPlugin URI: https://wordpress.org/plugins/wp-file-manager\nDescription: Manage your WP files.\nAuthor: mndpsingh287\nVersion: 6.8\n*/\n")
	// Header without a version: the readme's Stable tag.
	writeFile(t, filepath.Join(wp, "wp-content/plugins/contact-form-7/wp-contact-form-7.php"), "<?php\n/*\nPlugin Name: Contact Form 7\n*/\n")
	writeFile(t, filepath.Join(wp, "wp-content/plugins/contact-form-7/readme.txt"), "=== Contact Form 7 ===\nContributors: takayukister\nStable tag: 5.3.1\nLicense: GPLv2 or later\n")
	// Current, and a single-file plugin.
	writeFile(t, filepath.Join(wp, "wp-content/plugins/contact-form-7-old/x.php"), "<?php\n")
	writeFile(t, filepath.Join(wp, "wp-content/plugins/hello.php"), "<?php\n/*\nPlugin Name: Hello Dolly\nVersion: 1.7.2\n*/\n")
	writeFile(t, filepath.Join(wp, "wp-content/plugins/index.php"), "<?php\n// Silence is golden.\n")
	writeFile(t, filepath.Join(wp, "wp-content/themes/twentytwentyfive/style.css"), "/*\nTheme Name: Twenty Twenty-Five\nAuthor: the WordPress team\nVersion: 1.3\n*/\n")
	writeFile(t, filepath.Join(wp, "wp-content/themes/bricks/style.css"), "/*\nTheme Name: Bricks\nVersion: 1.9.6\n*/\n")

	d7 := filepath.Join(root, "asso")
	writeFile(t, filepath.Join(d7, "includes/bootstrap.inc"), "<?php\ndefine('VERSION', '7.103');\n")
	writeFile(t, filepath.Join(d7, "misc/drupal.js"), "")
	writeFile(t, filepath.Join(d7, "modules/system/system.info"), "name = System\npackage = Core\nversion = \"7.103\"\n")
	writeFile(t, filepath.Join(d7, "sites/all/modules/contrib/restws/restws.info"), "name = RESTful Web Services\ncore = 7.x\n\n; Information added by Drupal.org packaging script on 2016-02-19\nversion = \"7.x-2.5\"\ncore = \"7.x\"\nproject = \"restws\"\n")
	writeFile(t, filepath.Join(d7, "sites/all/modules/contrib/views/views.info"), "name = Views\ncore = 7.x\nversion = \"7.x-3.29\"\nproject = \"views\"\n")
	writeFile(t, filepath.Join(d7, "sites/all/modules/custom/asso_tweaks/asso_tweaks.info"), "name = Asso tweaks\ncore = 7.x\n")

	jo := filepath.Join(root, "club")
	writeFile(t, filepath.Join(jo, "libraries/src/Version.php"), "<?php\n    const MAJOR_VERSION = 4;\n    const MINOR_VERSION = 4;\n    const PATCH_VERSION = 13;\n")
	writeFile(t, filepath.Join(jo, "administrator/manifests/files/joomla.xml"), "<extension><version>4.4.13</version></extension>")
	writeFile(t, filepath.Join(jo, "administrator/components/com_akeebabackup/akeebabackup.xml"), "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<extension type=\"component\" method=\"upgrade\">\n  <name>COM_AKEEBABACKUP</name>\n  <version>9.8.1</version>\n</extension>\n")
	writeFile(t, filepath.Join(jo, "administrator/components/com_akeebabackup/config.xml"), "<config><fieldset><field name=\"x\"/></fieldset></config>")
	writeFile(t, filepath.Join(jo, "plugins/system/jce/jce.xml"), "<extension type=\"plugin\" group=\"system\"><name>plg_system_jce</name><version>2.9.80</version></extension>")
	writeFile(t, filepath.Join(jo, "templates/cassiopeia/templateDetails.xml"), "<extension type=\"template\" client=\"site\"><name>cassiopeia</name><version>1.0</version></extension>")

	got := map[string]*Install{}
	if _, err := Scan(context.Background(), []string{root}, ScanOptions{Data: EmbeddedData(), MaxDepth: 1}, func(in *Install) { got[filepath.Base(in.Path)] = in }); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"blog": {"wordpress-plugin backwpup 4.0.2 BackWPup/CVE-2023-5775", "wordpress-plugin contact-form-7 5.3.1 Contact Form 7/CVE-2020-35489",
			"wordpress-plugin hello 1.7.2 Hello Dolly/", "wordpress-plugin wp-file-manager 6.8 WP File Manager/CVE-2020-25213",
			"wordpress-theme bricks 1.9.6 Bricks/CVE-2024-25600", "wordpress-theme twentytwentyfive 1.3 Twenty Twenty-Five/"},
		"asso": {"drupal-module asso_tweaks  Asso tweaks/", "drupal-module restws 7.x-2.5 RESTful Web Services/SA-CONTRIB-2016-040", "drupal-module views 7.x-3.29 Views/"},
		"club": {"joomla-extension com_akeebabackup 9.8.1 COM_AKEEBABACKUP/", "joomla-extension plg_system_jce 2.9.80 plg_system_jce/", "joomla-extension tpl_cassiopeia 1.0 cassiopeia/"},
	}
	for site, exts := range want {
		in := got[site]
		if in == nil {
			t.Fatalf("%s not found", site)
		}
		var have []string
		for _, e := range in.Extensions {
			have = append(have, string(e.Kind)+" "+e.Slug+" "+e.Version+" "+e.Name+"/"+strings.Join(e.Advisories, ","))
		}
		if !slices.Equal(have, exts) {
			t.Errorf("%s extensions:\n got %q\nwant %q", site, have, exts)
		}
	}
	// A current WordPress with vulnerable plugins is vulnerable, and says
	// through what.
	blog := got["blog"]
	if blog.Status != StatusVulnerable || !slices.Contains(blog.Advisories, "CVE-2020-25213") {
		t.Errorf("blog: status %s advisories %v", blog.Status, blog.Advisories)
	}
	fs := InstallFindings(blog, blog.CodeModified)
	if len(fs) == 0 || fs[0].Rule != "install-vulnerable" || !strings.Contains(fs[0].Summary, "wordpress-plugin wp-file-manager 6.8 (CVE-2020-25213)") {
		t.Errorf("finding: %+v", fs)
	}
	if got["club"].Status == StatusVulnerable {
		t.Errorf("club: %v", got["club"].Advisories)
	}
}

// The Wordfence feed: a real record (BackWPup, reproduced under Defiant's
// licence with its notice, as the licence asks), imported and rated.
func TestImportWordfence(t *testing.T) {
	f, err := os.Open("testdata/wordfence/feed.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ext, skipped, err := ImportWordfence(f)
	if err != nil || skipped != 0 {
		t.Fatalf("import: %v (%d skipped)", err, skipped)
	}
	advs := ext[KindWPPlugin]["backwpup"]
	if len(advs) != 1 || advs[0].ID != "CVE-2023-5775" || !strings.Contains(advs[0].URL, "4bce4f04") || advs[0].Ranges[0].LastAffected != "4.0.2" {
		t.Fatalf("advisories = %+v", advs)
	}
	d := EmbeddedData()
	delete(d.Extensions, KindWPPlugin)
	d.MergeExtensions(ext, WordfenceNotice)
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := ParseData(b)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]bool{"4.0.2": true, "3.10.0": true, "4.0.3": false, "4.1": false} {
		if got := len(d2.ExtensionAdvisories(KindWPPlugin, "backwpup", v)) > 0; got != want {
			t.Errorf("backwpup %s vulnerable = %v", v, got)
		}
	}
	if !strings.Contains(d2.Notes, "Defiant") {
		t.Error("the licence notice is lost")
	}
	// Bad feeds are refused with an error, never half-imported.
	for _, bad := range []string{"", "[]", `{"x": {"id": 3}}`, `{"x": `} {
		if _, _, err := ImportWordfence(bytes.NewReader([]byte(bad))); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Records it cannot use are skipped and counted.
	odd := `{"a": {"id": "a", "title": "t", "software": [{"type": "plugin", "slug": "../etc", "affected_versions": {"x": {"from_version": "*", "to_version": "1.0", "to_inclusive": true}}}]},
	        "b": {"id": "b", "title": "t", "software": [{"type": "plugin", "slug": "ok-plugin", "affected_versions": {"x": {"from_version": "*", "to_version": "*"}}}]},
	        "c": {"id": "c", "title": "t", "software": [{"type": "core", "slug": "wordpress", "affected_versions": {}}]}}`
	ext, skipped, err = ImportWordfence(strings.NewReader(odd))
	if err != nil || skipped != 1 || len(ext[KindWPPlugin]["ok-plugin"]) != 1 || ext[KindWPPlugin]["../etc"] != nil {
		t.Errorf("odd feed: %v, %d skipped, %v", err, skipped, ext)
	}
}

// Drupal contrib ranges are per core branch: 7.x-2.5 is in a 7.x range,
// 8.x-2.5 is not.
func TestDrupalContribRanges(t *testing.T) {
	d := EmbeddedData()
	for v, want := range map[string]bool{"7.x-2.5": true, "7.x-2.6": false, "7.x-1.6": true, "8.x-2.5": false, "2.5": true} {
		if got := len(d.ExtensionAdvisories(KindDrupal, "restws", v)) > 0; got != want {
			t.Errorf("restws %s vulnerable = %v", v, got)
		}
	}
}
