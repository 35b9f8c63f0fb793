<?php

declare(strict_types=1);

/*
 * This file is part of the TYPO3 CMS project.
 */

namespace TYPO3\CMS\Core\Information;

class Typo3Version
{
    protected const VERSION = '11.5.13';
    protected const BRANCH = '11.5';
