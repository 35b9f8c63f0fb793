<?php
define( 'MW_API', true );
