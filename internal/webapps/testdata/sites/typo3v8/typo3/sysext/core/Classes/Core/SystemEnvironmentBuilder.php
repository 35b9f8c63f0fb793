<?php
namespace TYPO3\CMS\Core\Core;

class SystemEnvironmentBuilder
{
    protected static function defineBaseConstants()
    {
        // This version, branch and copyright
        define('TYPO3_version', '8.7.32');
        define('TYPO3_branch', '8.7');
        define('TYPO3_copyright_year', '1998-2020');
    }
}
