package webapps

import (
	"regexp"
	"sort"
)

// An appSpec says how to recognise one application from files on disk: a
// version file whose content names the version, and a second marker that
// must exist too, so that one stray constant does not mislead.
type appSpec struct {
	id, name string
	// layouts are tried in order; the first whose marker exists and whose
	// version file reads wins.
	layouts []layout
	// secrets are config files holding passwords or keys, relative to the
	// install (globs allowed).
	secrets []string
	// content are directories users write to (uploads, data); their
	// modification times say whether the site lives.
	content []string
	// composer are the package names whose version composer.lock records.
	composer []string
	// own are the app's own directories, not searched for nested installs.
	own []string
}

// A layout is one way a version of the app lays out its files.
type layout struct {
	file    string         // version file, relative to the install
	markers []string       // at least one must exist
	re      *regexp.Regexp // first submatch(es) joined by '.' are the version
	// extract, when set, replaces re.
	extract func(head []byte) string
	// reject, when it matches the version file, says it is another app
	// (ownCloud's version.php looks like Nextcloud's).
	reject *regexp.Regexp
}

var (
	reWordPress   = regexp.MustCompile(`\$wp_version\s*=\s*['"]([^'"]{1,40})['"]`)
	reDefineVer   = regexp.MustCompile(`define\(\s*['"]VERSION['"]\s*,\s*['"]([^'"]{1,40})['"]`)
	reConstVer    = regexp.MustCompile(`const\s+VERSION\s*=\s*['"]([^'"]{1,40})['"]`)
	reJoomlaMajor = regexp.MustCompile(`const\s+MAJOR_VERSION\s*=\s*(\d{1,4})\s*;`)
	reJoomlaMinor = regexp.MustCompile(`const\s+MINOR_VERSION\s*=\s*(\d{1,4})\s*;`)
	reJoomlaPatch = regexp.MustCompile(`const\s+PATCH_VERSION\s*=\s*(\d{1,4})\s*;`)
	// Joomla 1.0 to 3.4 declare `var|public $RELEASE = '3.4';`, 3.5 to
	// 3.7 `const RELEASE = '3.6';` (with DEV_LEVEL alike); 3.8 and later
	// MAJOR/MINOR/PATCH_VERSION integers.
	reJoomlaRel = regexp.MustCompile(`(?:(?:var|public)\s+\$RELEASE|const\s+RELEASE)\s*=\s*['"](\d{1,3}\.\d{1,3})['"]`)
	reJoomlaDev = regexp.MustCompile(`(?:(?:var|public)\s+\$DEV_LEVEL|const\s+DEV_LEVEL)\s*=\s*['"](\d{1,4}(?:-[A-Za-z0-9]{1,12})?)['"]`)
	// Manifests: Joomla's administrator/manifests/files/joomla.xml, and
	// the <version> of any extension manifest.
	reXMLVersion = regexp.MustCompile(`<version>\s*([^<\s]{1,40})\s*</version>`)
	// Drupal.org's packaging script appends the release to every .info
	// and .info.yml file of a tarball: `version = "7.98"`, `version: '10.2.5'`.
	reInfoVersion = regexp.MustCompile(`(?m)^version\s*[:=]\s*['"]?([0-9][^'"\s]{0,39})['"]?\s*$`)
	reTYPO3Old    = regexp.MustCompile(`\$TYPO_VERSION\s*=\s*['"]([^'"]{1,40})['"]`)
	reNextcloud   = regexp.MustCompile(`\$OC_VersionString\s*=\s*['"]([^'"]{1,40})['"]`)
	reOwnCloud    = regexp.MustCompile(`\$vendor\s*=\s*['"]owncloud['"]`)
	rePhpBB       = regexp.MustCompile(`define\(\s*['"]PHPBB_VERSION['"]\s*,\s*['"]([^'"]{1,40})['"]`)
	reMWDefines   = regexp.MustCompile(`define\(\s*['"]MW_VERSION['"]\s*,\s*['"]([^'"]{1,40})['"]`)
	reMWSettings  = regexp.MustCompile(`\$wgVersion\s*=\s*['"]([^'"]{1,40})['"]`)
	rePSDefine    = regexp.MustCompile(`define\(\s*['"]_PS_VERSION_['"]\s*,\s*['"]([^'"]{1,40})['"]`)
	reRoundcube   = regexp.MustCompile(`define\(\s*['"]RCMAIL_VERSION['"]\s*,\s*['"]([^'"]{1,40})['"]`)
	reTYPO3Define = regexp.MustCompile(`define\(\s*['"]TYPO3_version['"]\s*,\s*['"]([^'"]{1,40})['"]`)
	reComposerVer = regexp.MustCompile(`"version"\s*:\s*"([^"]{1,40})"`)
	reMagentoName = regexp.MustCompile(`"name"\s*:\s*"magento/(?:magento2-base|magento2ce|magento2ee|project-community-edition|product-community-edition)"`)
	reMage1       = regexp.MustCompile(`'(major|minor|revision|patch)'\s*=>\s*'(\d{1,4})'`)
	rePMAConfig   = regexp.MustCompile(`set\(\s*['"]PMA_VERSION['"]\s*,\s*['"]([^'"]{1,40})['"]`)
	reDokuWiki    = regexp.MustCompile(`^\s*(?:rc)?(\d{4}-\d{2}-\d{2}[a-z]?)`)
)

// specs is every app vigie recognises, in the order they are tried (the
// more specific first: Nextcloud before anything with a version.php).
var specs = []*appSpec{
	{
		id: "wordpress", name: "WordPress",
		layouts: []layout{{file: "wp-includes/version.php", markers: []string{"wp-settings.php", "wp-login.php"}, re: reWordPress}},
		secrets: []string{"wp-config.php", "../wp-config.php"},
		content: []string{"wp-content/uploads"},
		own:     []string{"wp-admin", "wp-includes", "wp-content"},
	},
	{
		id: "drupal", name: "Drupal",
		layouts: []layout{
			{file: "core/lib/Drupal.php", markers: []string{"core/includes/bootstrap.inc", "core/core.services.yml"}, re: reConstVer},
			{file: "includes/bootstrap.inc", markers: []string{"misc/drupal.js"}, re: reDefineVer},       // 7
			{file: "modules/system/system.module", markers: []string{"misc/drupal.js"}, re: reDefineVer}, // 5, 6
			// Fallbacks: the version drupal.org's packaging wrote in the
			// system module's info file (a tarball whose main file was
			// patched or truncated).
			{file: "core/modules/system/system.info.yml", markers: []string{"core/core.services.yml", "core/includes/bootstrap.inc"}, re: reInfoVersion},
			{file: "modules/system/system.info", markers: []string{"misc/drupal.js"}, re: reInfoVersion},
		},
		secrets:  []string{"sites/*/settings.php", "sites/*/settings.local.php"},
		content:  []string{"sites/default/files"},
		composer: []string{"drupal/core", "drupal/core-recommended", "drupal/drupal"},
		own:      []string{"core", "includes", "misc", "modules", "profiles", "scripts", "sites", "themes", "vendor"},
	},
	{
		id: "joomla", name: "Joomla",
		layouts: []layout{
			{file: "libraries/src/Version.php", markers: []string{"administrator/manifests/files/joomla.xml", "administrator/index.php"}, extract: joomlaConst},
			{file: "libraries/cms/version/version.php", markers: []string{"administrator/manifests/files/joomla.xml", "administrator/index.php"}, extract: joomlaVar},
			{file: "libraries/joomla/version.php", markers: []string{"administrator/index.php"}, extract: joomlaVar}, // 1.5 to 1.7
			{file: "includes/version.php", markers: []string{"administrator/index.php"}, extract: joomlaVar},         // 1.0
			// Fallback: the files manifest the installer and updater keep.
			{file: "administrator/manifests/files/joomla.xml", markers: []string{"administrator/index.php"}, re: reXMLVersion},
		},
		secrets: []string{"configuration.php"},
		content: []string{"images"},
		own:     []string{"administrator", "api", "cache", "cli", "components", "includes", "language", "layouts", "libraries", "media", "modules", "plugins", "templates", "tmp"},
	},
	{
		id: "nextcloud", name: "Nextcloud",
		layouts: []layout{{file: "version.php", markers: []string{"occ", "lib/base.php"}, re: reNextcloud, reject: reOwnCloud}},
		secrets: []string{"config/config.php"},
		content: []string{"data"},
		own:     []string{"3rdparty", "apps", "core", "lib", "ocs", "resources", "themes", "data"},
	},
	{
		id: "phpbb", name: "phpBB",
		layouts: []layout{{file: "includes/constants.php", markers: []string{"viewtopic.php", "styles/prosilver"}, re: rePhpBB}},
		secrets: []string{"config.php"},
		content: []string{"files", "images/avatars/upload"},
		own:     []string{"adm", "assets", "bin", "cache", "config", "ext", "includes", "language", "phpbb", "styles", "vendor"},
	},
	{
		id: "dokuwiki", name: "DokuWiki",
		layouts: []layout{{file: "VERSION", markers: []string{"doku.php"}, re: reDokuWiki}},
		secrets: []string{"conf/users.auth.php", "conf/local.php"},
		content: []string{"data/pages", "data/media"},
		own:     []string{"bin", "conf", "data", "inc", "lib", "vendor"},
	},
	{
		id: "mediawiki", name: "MediaWiki",
		layouts: []layout{
			{file: "includes/Defines.php", markers: []string{"api.php", "load.php"}, re: reMWDefines},
			{file: "includes/DefaultSettings.php", markers: []string{"api.php", "index.php"}, re: reMWSettings},
		},
		secrets:  []string{"LocalSettings.php"},
		content:  []string{"images"},
		composer: []string{"mediawiki/core"},
		own:      []string{"cache", "extensions", "images", "includes", "languages", "maintenance", "resources", "skins", "vendor"},
	},
	{
		id: "prestashop", name: "PrestaShop",
		layouts: []layout{
			{file: "src/Core/Version.php", markers: []string{"classes/ObjectModel.php"}, re: reConstVer}, // 1.7.7 and later
			{file: "app/AppKernel.php", markers: []string{"classes/ObjectModel.php", "init.php"}, re: reConstVer},
			{file: "config/settings.inc.php", markers: []string{"classes/ObjectModel.php"}, re: rePSDefine},
		},
		secrets: []string{"app/config/parameters.php", "config/settings.inc.php"},
		content: []string{"img/p", "upload"},
		own:     []string{"app", "bin", "cache", "classes", "config", "controllers", "img", "modules", "override", "src", "themes", "tools", "translations", "var", "vendor"},
	},
	{
		id: "roundcube", name: "Roundcube",
		layouts:  []layout{{file: "program/include/iniset.php", markers: []string{"program/js/app.js", "program/lib/Roundcube/bootstrap.php"}, re: reRoundcube}},
		secrets:  []string{"config/config.inc.php"},
		content:  []string{"logs", "temp"},
		composer: []string{"roundcube/roundcubemail"},
		own:      []string{"bin", "config", "installer", "logs", "plugins", "program", "skins", "temp", "vendor"},
	},
	{
		id: "typo3", name: "TYPO3",
		layouts: []layout{
			{file: "typo3/sysext/core/Classes/Information/Typo3Version.php", markers: []string{"typo3/sysext/core/ext_emconf.php"}, re: reConstVer},
			{file: "vendor/typo3/cms-core/Classes/Information/Typo3Version.php", markers: []string{"vendor/typo3/cms-core/ext_emconf.php"}, re: reConstVer},
			{file: "typo3/sysext/core/Classes/Core/SystemEnvironmentBuilder.php", markers: []string{"typo3/sysext/core/ext_emconf.php"}, re: reTYPO3Define},
			{file: "t3lib/config_default.php", markers: []string{"t3lib/class.t3lib_div.php"}, re: reTYPO3Old}, // 4.x
		},
		secrets:  []string{"typo3conf/LocalConfiguration.php", "config/system/settings.php", "public/typo3conf/LocalConfiguration.php"},
		content:  []string{"fileadmin", "public/fileadmin"},
		composer: []string{"typo3/cms-core"},
		own:      []string{"typo3", "typo3conf", "typo3temp", "fileadmin", "vendor", "public", "var", "config"},
	},
	{
		id: "magento", name: "Magento",
		layouts: []layout{
			{file: "vendor/magento/magento2-base/composer.json", markers: []string{"bin/magento"}, extract: magentoComposer},
			{file: "composer.json", markers: []string{"bin/magento", "app/etc/di.xml"}, extract: magentoComposer},
			{file: "app/Mage.php", markers: []string{"app/etc/local.xml.template", "js/varien/js.js"}, extract: magento1},
		},
		secrets:  []string{"app/etc/env.php", "app/etc/local.xml"},
		content:  []string{"pub/media", "media"},
		composer: []string{"magento/product-community-edition", "magento/magento2-base"},
		own:      []string{"app", "bin", "dev", "generated", "lib", "pub", "setup", "var", "vendor", "js", "skin", "media", "includes", "downloader"},
	},
	{
		id: "matomo", name: "Matomo",
		layouts: []layout{{file: "core/Version.php", markers: []string{"matomo.php", "piwik.php"}, re: reConstVer}},
		secrets: []string{"config/config.ini.php"},
		content: []string{"tmp"},
		own:     []string{"config", "core", "js", "lang", "libs", "misc", "node_modules", "plugins", "tmp", "vendor"},
	},
	{
		id: "phpmyadmin", name: "phpMyAdmin",
		layouts: []layout{
			{file: "src/Version.php", markers: []string{"libraries/constants.php", "app/constants.php"}, re: reConstVer},
			{file: "libraries/classes/Version.php", markers: []string{"libraries/constants.php", "libraries/vendor_config.php"}, re: reConstVer},
			{file: "libraries/classes/Config.php", markers: []string{"libraries/vendor_config.php"}, re: rePMAConfig},
			{file: "libraries/Config.class.php", markers: []string{"libraries/common.inc.php"}, re: rePMAConfig},
		},
		secrets:  []string{"config.inc.php"},
		composer: []string{"phpmyadmin/phpmyadmin"},
		own:      []string{"doc", "examples", "js", "libraries", "locale", "setup", "sql", "src", "templates", "themes", "vendor", "tmp"},
	},
}

// AppIDs lists the apps vigie recognises.
func AppIDs() []string {
	ids := make([]string, 0, len(specs))
	for _, s := range specs {
		ids = append(ids, s.id)
	}
	sort.Strings(ids)
	return ids
}

func joomlaConst(head []byte) string {
	ma, mi, pa := reJoomlaMajor.FindSubmatch(head), reJoomlaMinor.FindSubmatch(head), reJoomlaPatch.FindSubmatch(head)
	if ma == nil || mi == nil || pa == nil {
		return ""
	}
	return string(ma[1]) + "." + string(mi[1]) + "." + string(pa[1])
}

func joomlaVar(head []byte) string {
	rel, dev := reJoomlaRel.FindSubmatch(head), reJoomlaDev.FindSubmatch(head)
	if rel == nil || dev == nil {
		return ""
	}
	return string(rel[1]) + "." + string(dev[1])
}

func magentoComposer(head []byte) string {
	if !reMagentoName.Match(head) {
		return ""
	}
	if m := reComposerVer.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

func magento1(head []byte) string {
	parts := map[string]string{}
	for _, m := range reMage1.FindAllSubmatch(head, 8) {
		if _, seen := parts[string(m[1])]; !seen {
			parts[string(m[1])] = string(m[2])
		}
	}
	if parts["major"] == "" || parts["minor"] == "" {
		return ""
	}
	v := parts["major"] + "." + parts["minor"] + "." + orZero(parts["revision"])
	if p := parts["patch"]; p != "" {
		v += "." + p
	}
	return v
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// ExtractVersion reads the version of app from the head of its version file
// laid out as the i-th layout. It is what the fuzz target drives.
func (l *layout) version(head []byte) string {
	if l.reject != nil && l.reject.Match(head) {
		return ""
	}
	if l.extract != nil {
		return sanitizeVersion(l.extract(head))
	}
	m := l.re.FindSubmatch(head)
	if m == nil {
		return ""
	}
	return sanitizeVersion(string(m[1]))
}

// sanitizeVersion keeps a version only if it looks like one: it is shown
// in alerts and on the dashboard, and version files are user-writable.
func sanitizeVersion(s string) string {
	if len(s) == 0 || len(s) > 40 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_' || c == '+') {
			return ""
		}
	}
	if _, ok := ParseVersion(s); !ok {
		return ""
	}
	return s
}
