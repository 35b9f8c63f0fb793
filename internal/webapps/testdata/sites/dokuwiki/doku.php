<?php
// update message version - always use a string to avoid localized floats!
$updateVersion = "55.1";
