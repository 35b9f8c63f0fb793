<?php

declare(strict_types=1);

/**
 * Static Service Container wrapper.
 */
class Drupal {

  /**
   * The current system version.
   */
  const VERSION = '10.2.3';

  /**
   * Core API compatibility.
   */
  const CORE_COMPATIBILITY = '8.x';
