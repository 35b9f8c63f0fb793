<?php
/**
 * A few constants that might be needed during LocalSettings.php.
 *
 * @file
 */

/**
 * The running version of MediaWiki.
 *
 * This replaces the $wgVersion global found in earlier versions. When updating,
 * the RELEASE-NOTES file should be updated.
 *
 * @since 1.35 (also backported to 1.33.3 and 1.34.1)
 */
define( 'MW_VERSION', '1.39.3' );
