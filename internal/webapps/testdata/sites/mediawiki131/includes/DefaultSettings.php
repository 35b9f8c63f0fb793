<?php
/**
 * Default values for MediaWiki configuration settings.
 *
 * @file
 */

/**
 * MediaWiki version number
 * @since 1.2
 */
$wgVersion = '1.31.0';
