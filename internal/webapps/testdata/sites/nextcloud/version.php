<?php 
$OC_Version = array(27,1,3,2);
$OC_VersionString = '27.1.3';
$OC_Edition = '';
$OC_Channel = 'stable';
$OC_VersionCanBeUpgradedFrom = array (
  'nextcloud' => 
  array (
    '26.0' => true,
    '27.0' => true,
    '27.1' => true,
  ),
  'owncloud' => 
  array (
    '10.11' => true,
  ),
);
$OC_Build = '2023-10-19T10:29:15+00:00 1b52b3b7b5a4be3b5d5b1d2f7d35ca2c86a5a5e1';
$vendor = 'nextcloud';
