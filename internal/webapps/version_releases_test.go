package webapps

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's release-line table from TestReleaseLines")

// A releaseLine is one release line of one app as its release tarball
// lays it out: the version file's declaring lines as the real file of
// that release writes them (the rest of the file, the app's code, is left
// out: only the lines the detection reads are kept), and the markers that
// come with it.
type releaseLine struct {
	app, line string
	files     map[string]string // path -> the real file's version lines
	markers   []string
	want      string
}

// releaseLines covers each layout the 13 apps used from their oldest
// release still met on hosting to today. Sources: the projects' release
// tarballs and git tags (joomla/joomla-cms, drupal/drupal,
// WordPress/WordPress, nextcloud/server, phpbb/phpbb, dokuwiki/dokuwiki,
// wikimedia/mediawiki, PrestaShop/PrestaShop, roundcube/roundcubemail,
// TYPO3/typo3, magento/magento2 and OpenMage/magento-lts,
// matomo-org/matomo, phpmyadmin/phpmyadmin). The quoted lines are GPL-2.0+
// (WordPress, Drupal, Joomla, phpBB, DokuWiki, MediaWiki, TYPO3,
// phpMyAdmin), AGPL-3.0 (Nextcloud), GPL-3.0+ (Roundcube, Matomo), OSL-3.0
// (PrestaShop, Magento); they are facts (a version number) and are kept
// only for this test.
var releaseLines = []releaseLine{
	{app: "wordpress", line: "2.x", files: map[string]string{"wp-includes/version.php": "$wp_version = '2.9.2';"}, markers: []string{"wp-settings.php"}, want: "2.9.2"},
	{app: "wordpress", line: "3.x", files: map[string]string{"wp-includes/version.php": "$wp_version = '3.9.40';"}, markers: []string{"wp-settings.php"}, want: "3.9.40"},
	{app: "wordpress", line: "4.x", files: map[string]string{"wp-includes/version.php": "$wp_version = '4.9.26';"}, markers: []string{"wp-settings.php"}, want: "4.9.26"},
	{app: "wordpress", line: "5.x", files: map[string]string{"wp-includes/version.php": "$wp_version = '5.9.10';"}, markers: []string{"wp-login.php"}, want: "5.9.10"},
	{app: "wordpress", line: "6.x", files: map[string]string{"wp-includes/version.php": "$wp_version = '6.8.3';"}, markers: []string{"wp-settings.php"}, want: "6.8.3"},

	{app: "drupal", line: "5", files: map[string]string{"modules/system/system.module": "define('VERSION', '5.23');"}, markers: []string{"misc/drupal.js"}, want: "5.23"},
	{app: "drupal", line: "6", files: map[string]string{"modules/system/system.module": "define('VERSION', '6.38');"}, markers: []string{"misc/drupal.js"}, want: "6.38"},
	{app: "drupal", line: "7", files: map[string]string{"includes/bootstrap.inc": "define('VERSION', '7.103');"}, markers: []string{"misc/drupal.js"}, want: "7.103"},
	{app: "drupal", line: "7 (bootstrap.inc without it)", files: map[string]string{"includes/bootstrap.inc": "<?php\n", "modules/system/system.info": "name = System\ncore = 7.x\n\n; Information added by Drupal.org packaging script on 2024-12-04\nversion = \"7.103\"\nproject = \"drupal\"\n"}, markers: []string{"misc/drupal.js"}, want: "7.103"},
	{app: "drupal", line: "8", files: map[string]string{"core/lib/Drupal.php": "  const VERSION = '8.9.20';"}, markers: []string{"core/core.services.yml"}, want: "8.9.20"},
	{app: "drupal", line: "9", files: map[string]string{"core/lib/Drupal.php": "  const VERSION = '9.5.11';"}, markers: []string{"core/core.services.yml"}, want: "9.5.11"},
	{app: "drupal", line: "10", files: map[string]string{"core/lib/Drupal.php": "  const VERSION = '10.4.8';"}, markers: []string{"core/core.services.yml"}, want: "10.4.8"},
	{app: "drupal", line: "11", files: map[string]string{"core/lib/Drupal.php": "  const VERSION = '11.2.5';"}, markers: []string{"core/includes/bootstrap.inc"}, want: "11.2.5"},
	{app: "drupal", line: "10 (Drupal.php without it)", files: map[string]string{"core/lib/Drupal.php": "<?php\n", "core/modules/system/system.info.yml": "name: System\ntype: module\npackage: Core\n\n# Information added by Drupal.org packaging script on 2024-11-06\nversion: '10.3.10'\nproject: 'drupal'\n"}, markers: []string{"core/core.services.yml"}, want: "10.3.10"},

	{app: "joomla", line: "1.0", files: map[string]string{"includes/version.php": "class joomlaVersion {\n\tvar $PRODUCT = 'Joomla!';\n\tvar $RELEASE = '1.0';\n\tvar $DEV_STATUS = 'Stable';\n\tvar $DEV_LEVEL = '15';"}, markers: []string{"administrator/index.php"}, want: "1.0.15"},
	{app: "joomla", line: "1.5", files: map[string]string{"libraries/joomla/version.php": "class JVersion\n{\n\tvar $PRODUCT \t= 'Joomla!';\n\tvar $RELEASE \t= '1.5';\n\tvar $DEV_STATUS = 'Stable';\n\tvar $DEV_LEVEL \t= '26';"}, markers: []string{"administrator/index.php"}, want: "1.5.26"},
	{app: "joomla", line: "1.7", files: map[string]string{"libraries/joomla/version.php": "\t/** @var  string  Release version. */\n\tpublic $RELEASE = '1.7';\n\n\t/** @var  string  Maintenance version. */\n\tpublic $DEV_LEVEL = '5';"}, markers: []string{"administrator/index.php"}, want: "1.7.5"},
	{app: "joomla", line: "2.5", files: map[string]string{"libraries/cms/version/version.php": "\t/** @var  string  Release version. */\n\tpublic $RELEASE = '2.5';\n\n\t/** @var  string  Maintenance version. */\n\tpublic $DEV_LEVEL = '28';"}, markers: []string{"administrator/manifests/files/joomla.xml"}, want: "2.5.28"},
	{app: "joomla", line: "3.0-3.4", files: map[string]string{"libraries/cms/version/version.php": "\tpublic $RELEASE = '3.4';\n\n\t/**\n\t * @var  string  Maintenance version.\n\t * @since  3.0\n\t */\n\tpublic $DEV_LEVEL = '8';"}, markers: []string{"administrator/manifests/files/joomla.xml"}, want: "3.4.8"},
	{app: "joomla", line: "3.5", files: map[string]string{"libraries/cms/version/version.php": "\tconst RELEASE = '3.5';\n\n\t/**\n\t * Maintenance version.\n\t *\n\t * @var    string\n\t * @since  3.5\n\t */\n\tconst DEV_LEVEL = '1';"}, markers: []string{"administrator/manifests/files/joomla.xml"}, want: "3.5.1"},
	{app: "joomla", line: "3.6", files: map[string]string{"libraries/cms/version/version.php": "\tconst RELEASE = '3.6';\n\n\t/**\n\t * Maintenance version.\n\t *\n\t * @var    string\n\t * @since  3.5\n\t */\n\tconst DEV_LEVEL = '5';"}, markers: []string{"administrator/manifests/files/joomla.xml"}, want: "3.6.5"},
	{app: "joomla", line: "3.7", files: map[string]string{"libraries/cms/version/version.php": "\tconst RELEASE = '3.7';\n\n\t/**\n\t * Maintenance version.\n\t *\n\t * @var    string\n\t * @since  3.5\n\t */\n\tconst DEV_LEVEL = '0';"}, markers: []string{"administrator/manifests/files/joomla.xml"}, want: "3.7.0"},
	{app: "joomla", line: "3.8-3.10", files: map[string]string{"libraries/src/Version.php": "\tconst MAJOR_VERSION = 3;\n\n\tconst MINOR_VERSION = 10;\n\n\tconst PATCH_VERSION = 12;"}, markers: []string{"administrator/manifests/files/joomla.xml"}, want: "3.10.12"},
	{app: "joomla", line: "4", files: map[string]string{"libraries/src/Version.php": "    public const MAJOR_VERSION = 4;\n\n    public const MINOR_VERSION = 4;\n\n    public const PATCH_VERSION = 13;"}, markers: []string{"administrator/manifests/files/joomla.xml"}, want: "4.4.13"},
	{app: "joomla", line: "5", files: map[string]string{"libraries/src/Version.php": "    public const MAJOR_VERSION = 5;\n\n    public const MINOR_VERSION = 3;\n\n    public const PATCH_VERSION = 3;"}, markers: []string{"administrator/manifests/files/joomla.xml"}, want: "5.3.3"},
	{app: "joomla", line: "3.6 (manifest only)", files: map[string]string{"administrator/manifests/files/joomla.xml": "<extension version=\"3.6\" type=\"file\" method=\"upgrade\">\n\t<name>files_joomla</name>\n\t<author>Joomla! Project</author>\n\t<version>3.6.5</version>"}, markers: []string{"administrator/index.php"}, want: "3.6.5"},

	{app: "nextcloud", line: "≤ 25", files: map[string]string{"version.php": "$OC_VersionString = '25.0.13';"}, markers: []string{"occ"}, want: "25.0.13"},
	{app: "nextcloud", line: "26+", files: map[string]string{"version.php": "$OC_VersionString = '31.0.9';"}, markers: []string{"lib/base.php"}, want: "31.0.9"},

	{app: "phpbb", line: "3.0", files: map[string]string{"includes/constants.php": "define('PHPBB_VERSION', '3.0.14');"}, markers: []string{"viewtopic.php"}, want: "3.0.14"},
	{app: "phpbb", line: "3.1-3.3", files: map[string]string{"includes/constants.php": "@define('PHPBB_VERSION', '3.3.15');"}, markers: []string{"viewtopic.php"}, want: "3.3.15"},

	{app: "dokuwiki", line: "2018-2025", files: map[string]string{"VERSION": "2024-02-06b \"Kaos\"\n"}, markers: []string{"doku.php"}, want: "2024-02-06b"},
	{app: "dokuwiki", line: "release candidate", files: map[string]string{"VERSION": "rc2014-05-05 \"Ponder Stibbons RC\"\n"}, markers: []string{"doku.php"}, want: "2014-05-05"},

	{app: "mediawiki", line: "≤ 1.34", files: map[string]string{"includes/DefaultSettings.php": "$wgVersion = '1.31.16';"}, markers: []string{"api.php", "index.php"}, want: "1.31.16"},
	{app: "mediawiki", line: "1.35+", files: map[string]string{"includes/Defines.php": "define( 'MW_VERSION', '1.43.3' );"}, markers: []string{"api.php", "load.php"}, want: "1.43.3"},

	{app: "prestashop", line: "1.6", files: map[string]string{"config/settings.inc.php": "define('_PS_VERSION_', '1.6.1.24');"}, markers: []string{"classes/ObjectModel.php"}, want: "1.6.1.24"},
	{app: "prestashop", line: "1.7.0-1.7.6", files: map[string]string{"app/AppKernel.php": "class AppKernel extends Kernel\n{\n    const VERSION = '1.7.6.9';\n    const MAJOR_VERSION_STRING = '1.7';"}, markers: []string{"classes/ObjectModel.php", "init.php"}, want: "1.7.6.9"},
	{app: "prestashop", line: "1.7.7-9", files: map[string]string{"src/Core/Version.php": "final class Version\n{\n    public const VERSION = '8.1.1';\n    public const MAJOR_VERSION_STRING = '8';"}, markers: []string{"classes/ObjectModel.php"}, want: "8.1.1"},

	{app: "roundcube", line: "0.x-1.6", files: map[string]string{"program/include/iniset.php": "// application constants\ndefine('RCMAIL_VERSION', '1.6.11');"}, markers: []string{"program/js/app.js"}, want: "1.6.11"},

	{app: "typo3", line: "4.x", files: map[string]string{"t3lib/config_default.php": "$TYPO_VERSION = '4.5.40';"}, markers: []string{"t3lib/class.t3lib_div.php"}, want: "4.5.40"},
	{app: "typo3", line: "6-9", files: map[string]string{"typo3/sysext/core/Classes/Core/SystemEnvironmentBuilder.php": "        // This version, branch and copyright\n        define('TYPO3_version', '9.5.31');\n        define('TYPO3_branch', '9.5');"}, markers: []string{"typo3/sysext/core/ext_emconf.php"}, want: "9.5.31"},
	{app: "typo3", line: "10+", files: map[string]string{"typo3/sysext/core/Classes/Information/Typo3Version.php": "final class Typo3Version\n{\n    protected const VERSION = '12.4.20';\n    protected const BRANCH = '12.4';"}, markers: []string{"typo3/sysext/core/ext_emconf.php"}, want: "12.4.20"},
	{app: "typo3", line: "10+ (composer)", files: map[string]string{"vendor/typo3/cms-core/Classes/Information/Typo3Version.php": "    protected const VERSION = '13.4.2';"}, markers: []string{"vendor/typo3/cms-core/ext_emconf.php"}, want: "13.4.2"},

	{app: "magento", line: "1.x", files: map[string]string{"app/Mage.php": "    public static function getVersionInfo()\n    {\n        return array(\n            'major'     => '1',\n            'minor'     => '9',\n            'revision'  => '4',\n            'patch'     => '5',\n            'stability' => '',\n            'number'    => '',\n        );\n    }"}, markers: []string{"js/varien/js.js"}, want: "1.9.4.5"},
	{app: "magento", line: "2.x", files: map[string]string{"vendor/magento/magento2-base/composer.json": "{\n    \"name\": \"magento/magento2-base\",\n    \"version\": \"2.4.7-p3\"\n}"}, markers: []string{"bin/magento"}, want: "2.4.7-p3"},

	{app: "matomo", line: "Piwik 1-3", files: map[string]string{"core/Version.php": "final class Version\n{\n    const VERSION = '3.14.1';"}, markers: []string{"piwik.php"}, want: "3.14.1"},
	{app: "matomo", line: "4-5", files: map[string]string{"core/Version.php": "final class Version\n{\n    /**\n     * The current Matomo version.\n     * @var string\n     */\n    public const VERSION = '5.4.0';"}, markers: []string{"matomo.php"}, want: "5.4.0"},

	{app: "phpmyadmin", line: "4.0-4.6", files: map[string]string{"libraries/Config.class.php": "        $this->set('PMA_VERSION', '4.6.6');"}, markers: []string{"libraries/common.inc.php"}, want: "4.6.6"},
	{app: "phpmyadmin", line: "4.7-5.0", files: map[string]string{"libraries/classes/Config.php": "        $this->set('PMA_VERSION', '4.9.11');"}, markers: []string{"libraries/vendor_config.php"}, want: "4.9.11"},
	{app: "phpmyadmin", line: "5.1-5.2", files: map[string]string{"libraries/classes/Version.php": "final class Version\n{\n    // The VERSION_SUFFIX constant is defined at libraries/vendor_config.php\n    public const VERSION = '5.2.2' . VERSION_SUFFIX;\n    public const SERIES = '5.2';"}, markers: []string{"libraries/constants.php"}, want: "5.2.2"},
	{app: "phpmyadmin", line: "6.0", files: map[string]string{"src/Version.php": "final class Version\n{\n    // The VERSION_SUFFIX constant is defined at ./app/constants.php\n    public const VERSION = '6.0.0-dev' . VERSION_SUFFIX;\n    public const SERIES = '6.0';"}, markers: []string{"app/constants.php"}, want: "6.0.0-dev"},
}

// TestReleaseLines lays out each release line as its tarball does and
// scans it: the app and version must come out, and the README's table
// must be this test's (go test -run ReleaseLines -update-readme).
func TestReleaseLines(t *testing.T) {
	var table strings.Builder
	table.WriteString("| application | release line | version file read | version detected |\n|---|---|---|---|\n")
	apps := map[string]bool{}
	for _, c := range releaseLines {
		dir := t.TempDir()
		for rel, content := range c.files {
			writeFile(t, filepath.Join(dir, rel), "<?php\n"+content+"\n")
			if strings.HasSuffix(rel, "VERSION") || strings.HasSuffix(rel, ".json") || strings.HasSuffix(rel, ".xml") || strings.HasSuffix(rel, ".info") || strings.HasSuffix(rel, ".yml") {
				writeFile(t, filepath.Join(dir, rel), content)
			}
		}
		for _, m := range c.markers {
			writeFile(t, filepath.Join(dir, m), "")
		}
		var got []*Install
		if _, err := Scan(context.Background(), []string{dir}, ScanOptions{Data: EmbeddedData(), MaxDepth: 1}, func(in *Install) { got = append(got, in) }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].App != c.app || got[0].Version != c.want {
			var desc []string
			for _, in := range got {
				desc = append(desc, fmt.Sprintf("%s %q from %s %v", in.App, in.Version, in.VersionFile, in.Problems))
			}
			t.Errorf("%s %s: got %v, want %s %s", c.app, c.line, desc, c.app, c.want)
			continue
		}
		apps[c.app] = true
		fmt.Fprintf(&table, "| %s | %s | `%s` | %s |\n", got[0].Name, c.line, got[0].VersionFile, got[0].Version)
	}
	for _, id := range AppIDs() {
		if !apps[id] {
			t.Errorf("no release line of %s", id)
		}
	}
	checkReadmeTable(t, "release-lines", table.String())
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkReadmeTable compares the README's block between
// <!-- name:begin --> and <!-- name:end --> with table.
func checkReadmeTable(t *testing.T, name, table string) {
	t.Helper()
	path := "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+name+":begin (generated by go test ./internal/webapps -run ReleaseLines -update-readme) -->\n", "<!-- "+name+":end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README has no %q ... %q block", begin, end)
	}
	if *updateReadme {
		s = s[:i+len(begin)] + table + s[j:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if s[i+len(begin):j] != table {
		t.Errorf("README's %s table differs from the test's; run go test ./internal/webapps -run ReleaseLines -update-readme\nwant:\n%s", name, table)
	}
}
