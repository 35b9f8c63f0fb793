<?php

/**
 * @file
 * Contains \Drupal.
 */

use Drupal\Core\DependencyInjection\ContainerNotInitializedException;
use Symfony\Component\DependencyInjection\ContainerInterface;

/**
 * Static Service Container wrapper.
 */
class Drupal {

  /**
   * The current system version.
   */
  const VERSION = '8.5.0';

  /**
   * Core API compatibility.
   */
  const CORE_COMPATIBILITY = '8.x';
